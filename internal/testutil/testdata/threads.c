// threads: processes whose threads end or exec in the orders that make a
// process's end hard to tell, for procmon's tests.
//
//   threads leader-first CODE   the main thread ends first; another thread
//                               calls exit(CODE) a little later
//   threads thread-exec PROG... a second thread execs PROG with its arguments
//                               while the main thread waits
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char **exec_argv;
static int code;

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *exit_later(void *arg)
{
	(void)arg;
	nap(50);
	exit(code);
}

static void *exec_now(void *arg)
{
	(void)arg;
	execv(exec_argv[0], exec_argv);
	_exit(127);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc >= 3 && strcmp(argv[1], "leader-first") == 0) {
		code = atoi(argv[2]);
		pthread_create(&t, NULL, exit_later, NULL);
		pthread_exit(NULL);
	}
	if (argc >= 3 && strcmp(argv[1], "thread-exec") == 0) {
		exec_argv = argv + 2;
		pthread_create(&t, NULL, exec_now, NULL);
		for (;;)
			pause();
	}
	return 2;
}
