#!/usr/bin/python3
"""emu.py - start the loopback AWS emulator rapid's tests run against, the
awsemu package beside this file (its __init__.py describes it, its
arguments and its control API). Run with Debian's /usr/bin/python3."""

import sys

from awsemu.main import main

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
