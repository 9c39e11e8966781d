/* Every *.service on this machine (/lib/systemd/system, /etc/systemd/system, symlinks followed)
 * must load: pmd warns about what it does not implement but rejects none of them (SPEC §3.2: stock
 * units run unchanged). Masked units (symlinks to /dev/null) are not units and are skipped. Units
 * without any command (systemd-reboot.service and friends only carry a SuccessAction=) load as
 * oneshots with nothing to run, as systemd takes them; they are counted apart. Skips (77) when
 * the machine has no unit files. */
#include <ftw.h>
#include <libgen.h>
#include <sys/stat.h>

#include "conf-load.h"
#include "tests.h"

static unsigned n_files, n_warnings, n_rejected, n_no_command;

static void count(void *userdata, DiagLevel level, const DiagLoc *loc, const char *msg) {
        if (level == DIAG_WARNING)
                n_warnings++;
        else
                fprintf(stderr, "    error: %s:%u: %s\n", loc && loc->file ? loc->file : "?", loc ? loc->line : 0,
                        msg);
}

static const Diag diag = { .func = count };

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n > k && streq(s + n - k, suffix);
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        _cleanup_(job_config_freep) JobConfig *c = NULL;
        const char *base = path + ftw->base;
        char name[256];
        size_t n;

        if (type != FTW_F || !S_ISREG(st->st_mode) || !has_suffix(base, ".service"))
                return 0; /* directories, dangling links, masked units (/dev/null) */
        n = strlen(base) - strlen(".service");
        if (n >= sizeof(name))
                return 0;
        memcpy(name, base, n);
        name[n] = '\0';
        n_files++;
        ASSERT_OK(conf_unit_parse_file(path, name, &diag, &c));
        if (!c->error && c->exec_start.n == 0) {
                ASSERT_EQ(c->type, SERVICE_ONESHOT);
                fprintf(stderr, "  no command, a oneshot with nothing to run: %s\n", path);
                n_no_command++;
        } else if (c->error) {
                fprintf(stderr, "  rejected: %s\n", c->error);
                n_rejected++;
        }
        return 0;
}

int main(void) {
        static const char *const dirs[] = { "/lib/systemd/system", "/etc/systemd/system" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                (void) nftw(dirs[i], visit, 32, 0); /* no FTW_PHYS: symlinks are followed */
        if (n_files == 0) {
                fprintf(stderr, "no .service files found, skipping\n");
                return 77;
        }
        fprintf(stderr, "%u unit files, %u warnings, %u rejected, %u without any command\n", n_files,
                n_warnings, n_rejected, n_no_command);
        ASSERT_EQ(n_rejected, 0);
        return 0;
}
