"""python3 -m awsemu: the emulator (see awsemu/__init__.py)."""

import sys

from .main import main

sys.exit(main(sys.argv[1:]))
