/* Replay driver for the fuzz targets in normal builds: every fuzz-*.c is linked with this file and
 * run by `meson test` on its corpus (test/fuzz/NAME/), so crashes found once stay fixed. Arguments
 * are files or directories (not recursive); every regular file is fed to LLVMFuzzerTestOneInput()
 * in a buffer of exactly its size, so that ASan sees reads past the end. Exit 0 after at least
 * one input, 77 (skip) when there was none, 1 when a path cannot be read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path, size_t *n) {
        struct stat st;
        uint8_t *buf;
        size_t size = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return 0;
        }
        /* Exactly the file's size (malloc(0) may give NULL, so at least 1). */
        buf = malloc(st.st_size > 0 ? (size_t) st.st_size : 1);
        if (!buf) {
                close(fd);
                return -1;
        }
        while (size < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + size, (size_t) st.st_size - size);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                size += (size_t) k;
        }
        close(fd);
        fprintf(stderr, "  %s (%zu bytes)\n", path, size);
        (void) LLVMFuzzerTestOneInput(buf, size);
        free(buf);
        (*n)++;
        return 0;
}

static int cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int replay_dir(const char *dir, size_t *n) {
        struct dirent **entries = NULL;
        int k, r = 0;

        k = scandir(dir, &entries, NULL, NULL);
        if (k < 0) {
                fprintf(stderr, "%s: %s\n", dir, strerror(errno));
                return -1;
        }
        {
                char **names = calloc((size_t) k + 1, sizeof(char *));

                if (!names)
                        return -1;
                for (int i = 0; i < k; i++)
                        names[i] = entries[i]->d_name;
                qsort(names, (size_t) k, sizeof(char *), cmp);
                for (int i = 0; i < k && r >= 0; i++) {
                        char *path;

                        if (names[i][0] == '.')
                                continue;
                        if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
                                r = -1;
                                break;
                        }
                        r = replay_file(path, n);
                        free(path);
                }
                free(names);
        }
        for (int i = 0; i < k; i++)
                free(entries[i]);
        free(entries);
        return r;
}

int main(int argc, char **argv) {
        size_t n = 0;

        if (LLVMFuzzerInitialize)
                (void) LLVMFuzzerInitialize(&argc, &argv);

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                r = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &n) : replay_file(argv[i], &n);
                if (r < 0)
                        return EXIT_FAILURE;
        }

        printf("%zu inputs replayed\n", n);
        return n > 0 ? EXIT_SUCCESS : 77;
}
