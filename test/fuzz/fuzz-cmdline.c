/* Fuzz Exec line parsing and $VAR expansion. The first input line is the command, the following
 * lines are the environment it is expanded against. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        _cleanup_strv_free_ char **env = NULL, **argv = NULL, **words = NULL;
        ExecCommand c = {};
        const char *reason = NULL;
        char *nl;

        if (size > 65536)
                return 0;
        s = strndup((const char *) data, size); /* stops at a NUL byte, as a C string would */
        if (!s)
                return 0;
        nl = strchr(s, '\n');
        if (nl) {
                *nl = '\0';
                env = strv_split(nl + 1, "\n");
        }
        if (cmdline_split_words(s, &words, &reason) < 0 && !reason)
                abort(); /* an error always comes with a reason, except -ENOMEM */
        if (exec_command_parse(s, &c, &reason) >= 0) {
                if (!c.path || !c.argv || !c.argv[0])
                        abort();
                (void) exec_command_expand(&c, env, &argv);
                exec_command_done(&c);
        }
        return 0;
}
