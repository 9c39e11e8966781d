#define _GNU_SOURCE
/* The D-Bus side of bench-bus.sh: one connection to pmd's private socket, then
 *   - ListJobs called ROUNDS times, each round trip timed (send to reply parsed);
 *   - StartJob for each name given, one after the other (each waits for its reply), timed as a
 *     whole and per call.
 * Prints "listjobs N_JOBS MEDIAN_US MIN_US MAX_US" and "startjob N TOTAL_MS MEDIAN_US MAX_US".
 *   bench-bus-client SOCKET ROUNDS [JOB...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int call(sd_bus *bus, const char *method, const char *name, unsigned *ret_n) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        if (name)
                r = sd_bus_call_method(bus, NULL, "/org/pmd1", "org.pmd1.Manager", method, &error, &reply, "s", name);
        else
                r = sd_bus_call_method(bus, NULL, "/org/pmd1", "org.pmd1.Manager", method, &error, &reply, "");
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", method, error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        if (ret_n) {
                /* Read the whole answer, as a client would. */
                const char *n, *s, *res;
                uint32_t pid, restarts;
                uint64_t t;
                unsigned k = 0;
                r = sd_bus_message_enter_container(reply, 'a', "(sssuut)");
                while (r >= 0 && (r = sd_bus_message_read(reply, "(sssuut)", &n, &s, &res, &pid, &restarts, &t)) > 0)
                        k++;
                *ret_n = k;
        }
        sd_bus_message_unref(reply);
        return r < 0 ? r : 0;
}

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        char *address = NULL;
        int rounds, r;
        unsigned n_jobs = 0;

        if (argc < 3) {
                fprintf(stderr, "usage: %s SOCKET ROUNDS [JOB...]\n", argv[0]);
                return 2;
        }
        rounds = atoi(argv[2]);
        if (rounds < 1 || asprintf(&address, "unix:path=%s", argv[1]) < 0)
                return 2;
        if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_address(bus, address)) < 0 ||
            (r = sd_bus_start(bus)) < 0) {
                fprintf(stderr, "connect %s: %s\n", argv[1], strerror(-r));
                return 1;
        }

        double *t = calloc((size_t) (rounds > argc ? rounds : argc), sizeof(double));
        if (!t)
                return 1;
        for (int i = 0; i < rounds; i++) {
                double a = now_us();
                if (call(bus, "ListJobs", NULL, &n_jobs) < 0)
                        return 1;
                t[i] = now_us() - a;
        }
        qsort(t, (size_t) rounds, sizeof(double), cmp);
        printf("listjobs %u %.0f %.0f %.0f\n", n_jobs, t[rounds / 2], t[0], t[rounds - 1]);

        /* What `pmctl list` asks: every job's properties (CPU and memory included) in one call. */
        for (int i = 0; i < rounds; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                double a = now_us();
                r = sd_bus_call_method(bus, NULL, "/org/pmd1", "org.freedesktop.DBus.ObjectManager",
                                       "GetManagedObjects", &error, &reply, "");
                if (r < 0) {
                        fprintf(stderr, "GetManagedObjects: %s\n", error.message ?: strerror(-r));
                        return 1;
                }
                t[i] = now_us() - a;
                sd_bus_message_unref(reply);
        }
        qsort(t, (size_t) rounds, sizeof(double), cmp);
        printf("managed %.0f %.0f %.0f\n", t[rounds / 2], t[0], t[rounds - 1]);

        int n = argc - 3;
        if (n > 0) {
                double a0 = now_us();
                for (int i = 0; i < n; i++) {
                        double a = now_us();
                        if (call(bus, "StartJob", argv[3 + i], NULL) < 0)
                                return 1;
                        t[i] = now_us() - a;
                }
                double total = now_us() - a0;
                qsort(t, (size_t) n, sizeof(double), cmp);
                printf("startjob %d %.1f %.0f %.0f\n", n, total / 1e3, t[n / 2], t[n - 1]);
        }
        free(t);
        free(address);
        sd_bus_flush_close_unref(bus);
        return 0;
}
