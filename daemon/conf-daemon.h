/* pmd.conf (SPEC 2): the daemon's own settings, read with inih. Command line beats file beats
 * default, and that is the caller's job: fill a DaemonConfig with the defaults, call
 * daemon_config_load(), then apply the command line. Every path is kept as written (a string, no
 * checks beyond being non-empty); an empty value (Key=) resets the field to NULL, i.e. "use the
 * default". */
#pragma once

#include <stdbool.h>

#include "util/diag.h"

typedef struct DaemonConfig {
        /* [Daemon] */
        char **job_dirs;     /* JobDir=: may repeat, space-separated. The first JobDir= line of the
                              * file replaces what job_dirs held before (file beats default), later
                              * lines add to it, an empty JobDir= empties the list. */
        bool job_dirs_set;   /* the file had a JobDir= line (job_dirs may then be empty on purpose) */
        char *state_dir;     /* StateDir= */
        char *log_dir;       /* LogDir= */
        char *socket_path;   /* Socket= */
        char *bus;           /* Bus=: "system", "user", "none" or an address */
        char *http;          /* Http=: "ADDR:PORT" or "off" */
        char *plugin_dir;    /* PluginDir= */

        /* [Auth] */
        char *auth_key_file;       /* KeyFile= */
        char *auth_users_file;     /* UsersFile= */
        char *auth_jwks_file;      /* JWKSFile= */
        char *auth_anonymous_role; /* AnonymousRole= */

        /* [HTTP] */
        char *http_cert_file; /* CertFile= */
        char *http_key_file;  /* KeyFile= */
} DaemonConfig;

/* Reads path into c. A missing file: 0 and c unchanged. Unknown sections and keys, and lines too
 * long for inih (200 bytes), are warned about with PATH:LINE and ignored. A line that is not
 * "Key=Value", "[Section]" or a comment is an error with PATH:LINE: -EINVAL and c unchanged (so
 * is any other failure: c is only written on success). */
int daemon_config_load(const char *path, DaemonConfig *c, const Diag *diag);

/* Frees every field and zeroes c. */
void daemon_config_done(DaemonConfig *c);
