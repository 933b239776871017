/* control_priv.h — between control.c (the server, and the plumbing both
 * ends share) and control_client.c (the client). */
#ifndef VMM_CONTROL_PRIV_H
#define VMM_CONTROL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DIR/NAME.sock for a valid NAME into path (DIR made when 'create').
 * 0, or -1 with the reason in err (errno ENOENT: no runtime directory). */
int control__sock_path(const char *name, char *path, size_t len, bool create,
		       char *err, size_t errlen);
/* A connected, non-blocking socket to path, or -errno. */
int control__connect(const char *path);
/* Wait for 'events' on fd until the deadline (ns). 0, or -1 at timeout. */
int control__wait_fd(int fd, short events, uint64_t deadline);
/* Send all of buf before the deadline. 0 or -1. */
int control__send_all(int fd, const char *buf, size_t len, uint64_t deadline);
/* Send one request on a connected socket and read the reply (without its
 * '\n') within CONTROL_CLIENT_TIMEOUT_MS. 0, or -1 with err (the server's
 * own {"error":...} included). */
int control__exchange(int fd, const char *request, char *reply, size_t len,
		      char *err, size_t errlen);

#endif
