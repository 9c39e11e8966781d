/* The D-Bus face of the manager (SPEC §8): org.pmd1.Manager at /org/pmd1 and one org.pmd1.Job
 * object per job, served on the system/user bus (or --bus ADDRESS) and on pmd's private socket. */
#pragma once

#include "util/macro.h"

typedef struct Manager Manager;
typedef struct Bus Bus;

/* Connects to the bus named by ManagerOptions.bus (a failure is logged and pmd carries on without
 * it), listens on ManagerOptions.socket_path, and registers an observer that announces every state
 * change. Call after the event loop exists and the registry is open, before jobs start. Returns < 0
 * only when the private socket cannot be served. */
int bus_setup(Manager *m, Bus **ret);
/* Closes every connection and the private socket (unlinking it). Takes NULL, returns NULL. */
Bus *bus_free(Bus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);
