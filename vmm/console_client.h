/* console_client.h — `vmm console NAME`: this terminal on a running VM's
 * serial console, over its control socket (control.h, "console"). */
#ifndef VMM_CONSOLE_CLIENT_H
#define VMM_CONSOLE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ctrl-], as virsh console and telnet: detach, the VM runs on. */
#define CONSOLE_CLIENT_DETACH 0x1d

/* How many of in's bytes go to the guest: those before the first Ctrl-]
 * (then *detach is set), else all. */
size_t console_client__filter(const uint8_t *in, size_t len, bool *detach);

/* Attach, relay until Ctrl-] (or end of input, or the VM ends), restore
 * the terminal. The exit status for main(): 0, 1 on an error (one line:
 * no such VM, another client attached...), 128+N after signal N. */
int console_client__run(const char *name);

#endif
