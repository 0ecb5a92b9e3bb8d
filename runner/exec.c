/* exec.c - run a recipe: vfork + execve (PATH searched as execvp does)
 * into its own process group, cwd the folder the caller names (the
 * Rapidfile's, or the scratch folder) with PWD set to it, stdin /dev/null,
 * stdout+stderr into a pipe of which the last EXEC_TAIL_MAX bytes are kept
 * in a ring. One poll loop watches the pipe (whose bytes also go to the
 * log file, as they come), a self-pipe fed by the signal handlers
 * (SIGCHLD and the runner's own SIGTERM/SIGINT/SIGHUP) and the timeout.
 *
 * The recipe gets PR_SET_PDEATHSIG(SIGKILL): if the runner dies without a
 * chance to clean up (SIGKILL), the recipe does not run on unwatched. When
 * the recipe's main process ends, whatever it left running in its group is
 * killed: the instance is over and its scratch folder is about to go. */
#include "runner/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int self_pipe[2] = {-1, -1};
static volatile sig_atomic_t first_signal;

static const int caught[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};

static void on_signal(int sig)
{
	int e = errno;
	if (sig != SIGCHLD && !first_signal)
		first_signal = sig;
	unsigned char c = (unsigned char)sig;
	if (write(self_pipe[1], &c, 1) < 0) {
		/* full: the loop will see the earlier bytes and poll again */
	}
	errno = e;
}

int exec_signals_init(void)
{
	if (self_pipe[0] >= 0)
		return 0;
	if (pipe2(self_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		warn("cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(caught); i++)
		sigaction(caught[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int exec_interrupted(void)
{
	return first_signal;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Our environment with env laid over it (NULL-terminated; the strings
 * are borrowed, the array is the caller's to free). */
static char **make_envp(const char *const *env)
{
	size_t n = 0, m = 0;
	while (environ && environ[n])
		n++;
	while (env && env[m])
		m++;
	char **v = xcalloc(n + m + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		bool over = false;
		for (size_t j = 0; j < m && !over; j++)
			over = !strncmp(env[j], environ[i], nl) && env[j][nl] == '=';
		if (!over)
			v[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		v[k++] = (char *)env[j];
	v[k] = NULL;
	return v;
}

/* What a child reports through the error pipe when it cannot exec. */
struct start_failure {
	int stage; /* 0 exec, 1 chdir, 2 /dev/null, 3 prctl */
	int err;
};

__attribute__((noreturn)) static void child_fail(int fd, int stage, int err)
{
	struct start_failure f = {stage, err};
	if (write(fd, &f, sizeof f) < 0) {
		/* nothing left to tell it with */
	}
	_exit(127);
}

/* The program to exec, found before the child is started: the child
 * shares our memory (vfork) and may not allocate. execvp's rules: a name
 * with a '/' is used as it is, else the first executable regular file of
 * that name in the recipe's PATH; a file the kernel cannot exec (ENOEXEC)
 * is run by /bin/sh. */
struct prog {
	char *path;     /* NULL: none found, err says why */
	int err;
	char **sh_argv; /* /bin/sh path argv[1]... */
};

static void prog_find(struct prog *pg, char *const *argv, char *const *envp)
{
	const char *name = argv[0];
	memset(pg, 0, sizeof(*pg));
	if (!name[0]) {
		pg->err = ENOENT;
	} else if (strchr(name, '/')) {
		pg->path = xstrdup(name);
	} else {
		const char *path = "/usr/local/bin:/bin:/usr/bin"; /* glibc's default */
		for (size_t i = 0; envp[i]; i++)
			if (!strncmp(envp[i], "PATH=", 5))
				path = envp[i] + 5;
		pg->err = ENOENT;
		for (const char *d = path;; d++) {
			const char *e = strchr(d, ':');
			size_t dl = e ? (size_t)(e - d) : strlen(d);
			char *cand = dl ? xasprintf("%.*s/%s", (int)dl, d, name) : xstrdup(name);
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
				if (access(cand, X_OK) == 0) {
					pg->path = cand;
					break;
				}
				pg->err = EACCES;
			}
			free(cand);
			if (!e)
				break;
			d = e;
		}
	}
	if (!pg->path)
		return;
	size_t n = 0;
	while (argv[n])
		n++;
	pg->sh_argv = xcalloc(n + 2, sizeof(char *));
	pg->sh_argv[0] = (char *)"/bin/sh";
	pg->sh_argv[1] = pg->path;
	for (size_t i = 1; i < n; i++)
		pg->sh_argv[i + 1] = argv[i];
}

static void prog_free(struct prog *pg)
{
	free(pg->path);
	free(pg->sh_argv);
}

/* In the child, between vfork and exec: it runs on our memory, so it
 * makes system calls only (no allocation, no stdio, no global state). */
__attribute__((noreturn)) static void child(const struct exec_opts *o, const struct prog *pg, char **envp,
		  int out_w, int err_w, pid_t parent)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(caught); i++)
		sigaction(caught[i], &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(err_w, 3, errno);
	if (getppid() != parent) /* the runner is already gone */
		_exit(127);
	if (chdir(o->cwd) < 0)
		child_fail(err_w, 1, errno);
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0)
		child_fail(err_w, 2, errno);
	if (dup2(nul, 0) < 0 || dup2(out_w, 1) < 0 || dup2(out_w, 2) < 0)
		child_fail(err_w, 2, errno);
	/* Nothing else of ours reaches the recipe, close-on-exec or not (the
	 * build's own descriptors included): keep the error pipe at 3, close
	 * the rest. */
	if (err_w != 3) {
		if (dup2(err_w, 3) < 0)
			child_fail(err_w, 2, errno);
		err_w = 3;
	}
	if (fcntl(err_w, F_SETFD, FD_CLOEXEC) < 0)
		child_fail(err_w, 2, errno);
	closefrom(4);
	if (!pg->path)
		child_fail(err_w, 0, pg->err);
	execve(pg->path, o->argv, envp);
	if (errno == ENOEXEC)
		execve("/bin/sh", pg->sh_argv, envp);
	child_fail(err_w, 0, errno);
}

/* vfork and run child() in it, in a frame of its own: nothing of the
 * caller's is live across the vfork. The child's pid, or -1. */
__attribute__((noinline)) static pid_t spawn(const struct exec_opts *o, const struct prog *pg,
					     char **envp, int out_w, int err_w, pid_t parent)
{
	pid_t pid = vfork();
	if (pid == 0)
		child(o, pg, envp, out_w, err_w, parent);
	return pid;
}

struct ring {
	char *data;
	size_t pos;
	bool wrapped;
};

/* Append what was read to the log as it comes (exec_opts.log_fd). A
 * log that cannot be written stops being written (log_err says why);
 * the recipe goes on. */
static void log_put(const struct exec_opts *o, struct exec_result *r, const char *p, size_t n)
{
	if (o->log_fd <= 2 || r->log_err)
		return;
	while (n > 0) {
		ssize_t w = write(o->log_fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r->log_err = errno;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Read what is available; 1 at end of file, 0 otherwise, -1 on error. */
static int ring_read(struct ring *rg, int fd, const struct exec_opts *o, struct exec_result *r)
{
	for (;;) {
		ssize_t n = read(fd, rg->data + rg->pos, EXEC_TAIL_MAX - rg->pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		if (n == 0)
			return 1;
		log_put(o, r, rg->data + rg->pos, (size_t)n);
		r->total += (uint64_t)n;
		rg->pos += (size_t)n;
		if (rg->pos == EXEC_TAIL_MAX) {
			rg->pos = 0;
			rg->wrapped = true;
		}
	}
}

static void ring_take(struct ring *rg, struct buf *out)
{
	if (rg->wrapped)
		buf_putn(out, rg->data + rg->pos, EXEC_TAIL_MAX - rg->pos);
	buf_putn(out, rg->data, rg->pos);
}

static void drain_self_pipe(pid_t pgid, bool running, int64_t *kill_at)
{
	unsigned char c[64];
	ssize_t n;
	while ((n = read(self_pipe[0], c, sizeof c)) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++) {
			if (c[i] == SIGCHLD || !running)
				continue;
			kill(-pgid, c[i]);
			if (!*kill_at)
				*kill_at = mono_ns() + (int64_t)EXEC_KILL_GRACE_S * 1000000000;
		}
	}
}

/* Reap the recipe if it has ended: first kill what it left in its group
 * (while the zombie still holds the group id), then collect the status. */
static bool try_reap(pid_t pid, int *status)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pid)
		return false;
	kill(-pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return true;
}

static char *start_error(const struct exec_opts *o, const struct start_failure *f)
{
	switch (f->stage) {
	case 0: return xasprintf("cannot run '%s': %s", o->argv[0], strerror(f->err));
	case 1: return xasprintf("cannot change to the recipe's folder '%s': %s", o->cwd, strerror(f->err));
	case 2: return xasprintf("cannot set up the recipe's input and output: %s", strerror(f->err));
	default: return xasprintf("cannot set the recipe's parent-death signal: %s", strerror(f->err));
	}
}

int exec_run(const struct exec_opts *o, struct exec_result *r)
{
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	int ret = -1;
	char **envp = NULL, *pwd_env = NULL;
	const char **env2 = NULL;
	struct prog pg = {0};
	struct ring rg = {0};
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	if (exec_signals_init() < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		warn("cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	/* PWD names the folder the recipe starts in (a program that trusts
	 * $PWD would otherwise see the caller's), unless env sets it. */
	size_t ne = 0, k = 0;
	bool has_pwd = false;
	for (; o->env && o->env[ne]; ne++)
		has_pwd = has_pwd || !strncmp(o->env[ne], "PWD=", 4);
	pwd_env = xasprintf("PWD=%s", o->cwd);
	for (size_t n = strlen(pwd_env); n > 5 && pwd_env[n - 1] == '/'; n--)
		pwd_env[n - 1] = 0;
	env2 = xcalloc(ne + 2, sizeof(*env2));
	if (!has_pwd)
		env2[k++] = pwd_env;
	for (size_t i = 0; i < ne; i++)
		env2[k++] = o->env[i];
	envp = make_envp(env2);
	prog_find(&pg, o->argv, envp);
	rg.data = xmalloc(EXEC_TAIL_MAX);

	/* Keep the handlers from running in the child before it resets them:
	 * they would write into our self-pipe. */
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_LEN(caught); i++)
		sigaddset(&block, caught[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid_t parent = getpid();
	/* vfork: the runner's memory (a fork of the whole build) is not
	 * copied for a child that only sets up descriptors and execs. */
	pid_t pid = spawn(o, &pg, envp, out[1], errp[1], parent);
	int fork_err = errno;
	if (pid > 0)
		setpgid(pid, pid); /* also in the child: whichever runs first */
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		warn("cannot start '%s': %s", o->argv[0], strerror(fork_err));
		goto out;
	}
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;

	struct start_failure sf;
	size_t got = 0;
	while (got < sizeof sf) {
		ssize_t n = read(errp[0], (char *)&sf + got, sizeof sf - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == sizeof sf) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		r->exit_code = 127;
		r->start_error = start_error(o, &sf);
		ring_read(&rg, out[0], o, r);
		ring_take(&rg, &r->tail);
		ret = 0;
		goto out;
	}

	int fl = fcntl(out[0], F_GETFL);
	fcntl(out[0], F_SETFL, fl | O_NONBLOCK);
	int64_t deadline = o->timeout_s > 0 ? mono_ns() + (int64_t)o->timeout_s * 1000000000 : 0;
	int64_t kill_at = 0, drain_until = 0;
	int64_t tick_ns = o->tick && o->tick_ms > 0 ? (int64_t)o->tick_ms * 1000000 : 0;
	int64_t next_tick = tick_ns ? mono_ns() + tick_ns : 0;
	bool reaped = false, eof = false;
	int status = 0;
	/* A signal that came before the fork is passed on now, and counts as
	 * the interruption even if the recipe is gone by the first reap. */
	if (first_signal) {
		r->interrupted = first_signal;
		kill(-pid, first_signal);
		kill_at = mono_ns() + (int64_t)EXEC_KILL_GRACE_S * 1000000000;
	}
	for (;;) {
		int64_t now = mono_ns();
		if (!reaped && try_reap(pid, &status)) {
			reaped = true;
			drain_until = now + 2000000000LL; /* escaped stragglers may hold the pipe */
		}
		if (reaped && (eof || now >= drain_until))
			break;
		if (!reaped && deadline && !r->timed_out && now >= deadline) {
			r->timed_out = true;
			kill(-pid, SIGTERM);
			if (!kill_at)
				kill_at = now + (int64_t)EXEC_KILL_GRACE_S * 1000000000;
		}
		if (!reaped && kill_at && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = INT64_MAX;
		}
		if (!reaped && tick_ns && now >= next_tick) {
			o->tick(o->tick_arg);
			now = mono_ns();
			next_tick = now + tick_ns;
		}
		int64_t wake = INT64_MAX;
		if (!reaped && deadline && !r->timed_out)
			wake = deadline;
		if (!reaped && tick_ns && next_tick < wake)
			wake = next_tick;
		if (!reaped && kill_at && kill_at < wake)
			wake = kill_at;
		if (reaped && drain_until < wake)
			wake = drain_until;
		int timeout = -1;
		if (wake != INT64_MAX) {
			int64_t ms = (wake - now + 999999) / 1000000;
			timeout = ms > 60000 ? 60000 : (int)(ms < 0 ? 0 : ms);
		}
		struct pollfd pf[2] = {{self_pipe[0], POLLIN, 0}, {out[0], POLLIN, 0}};
		int np = poll(pf, eof ? 1 : 2, timeout);
		if (np < 0 && errno != EINTR) {
			warn("cannot poll: %s", strerror(errno));
			kill(-pid, SIGKILL);
			while (!try_reap(pid, &status))
				poll(NULL, 0, 10);
			goto out;
		}
		if (np > 0 && pf[0].revents)
			drain_self_pipe(pid, !reaped, &kill_at);
		if (np > 0 && !eof && pf[1].revents) {
			int e = ring_read(&rg, out[0], o, r);
			if (e != 0)
				eof = true;
		}
		if (first_signal && !r->interrupted && !reaped)
			r->interrupted = first_signal;
	}
	if (WIFEXITED(status))
		r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->signal = WTERMSIG(status);
	ring_take(&rg, &r->tail);
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(envp);
	prog_free(&pg);
	free(env2);
	free(pwd_env);
	free(rg.data);
	return ret;
}

void exec_result_free(struct exec_result *r)
{
	free(r->start_error);
	buf_free(&r->tail);
}
