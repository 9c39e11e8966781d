/* Fuzz EnvironmentFile= reading: the input is written to a memfd and read by path, as pmd reads
 * the real file at start time. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmdline.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_close_ int fd = -EBADF;
        char path[64];

        fd = memfd_create("fuzz-env-file", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (size > 0 && write(fd, data, size) != (ssize_t) size)
                return 0;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (strv_extend(&env, "PRESET=1") < 0)
                return 0;
        (void) env_file_read(path, &env);
        return 0;
}
