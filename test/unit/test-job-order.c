/* Ordering edges from After=/Before=, cycle breaking, and that it stays linear for long chains. */
#include <stdio.h>

#include "job.h"
#include "tests.h"
#include "util/strv.h"

static Job *mk(Hashmap *h, const char *name, const char *after, const char *before) {
        JobConfig *c;
        Job *j;
        DiagLoc loc = { .file = "t", .line = 1 };

        ASSERT_OK(job_config_new(name, "t", 1, &c));
        ASSERT_OK(job_config_assign(c, "Service", "ExecStart", "/bin/true", &loc, NULL));
        if (after)
                ASSERT_OK(job_config_assign(c, "Unit", "After", after, &loc, NULL));
        if (before)
                ASSERT_OK(job_config_assign(c, "Unit", "Before", before, &loc, NULL));
        ASSERT_OK(job_new(name, c, &j));
        ASSERT_OK(hashmap_put(h, j->name, j));
        return j;
}

static bool starts_after(const Job *a, const Job *b) {
        for (size_t i = 0; i < a->n_after; i++)
                if (a->after[i] == b)
                        return true;
        return false;
}

TEST(edges) {
        Hashmap *h = hashmap_new_string();
        Job *a = mk(h, "a", NULL, NULL), *b = mk(h, "b", "a missing.target", NULL), *c = mk(h, "c", NULL, "a");
        Job *jobs[] = { a, b, c };
        char **msgs = NULL;

        ASSERT_OK(job_order_build(jobs, 3, h, &msgs));
        ASSERT_EQ(strv_length(msgs), 0);
        ASSERT_TRUE(starts_after(b, a));
        ASSERT_TRUE(starts_after(a, c)); /* c Before=a */
        ASSERT_EQ(a->n_dependents, 1);
        ASSERT_EQ(c->n_dependents, 1);
        ASSERT_EQ(b->n_dependents, 0);
        strv_free(msgs);
        for (size_t i = 0; i < 3; i++)
                job_free(jobs[i]);
        hashmap_free(h);
}

TEST(cycle_broken) {
        Hashmap *h = hashmap_new_string();
        Job *a = mk(h, "a", "c", NULL), *b = mk(h, "b", "a", NULL), *c = mk(h, "c", "b", NULL);
        Job *self = mk(h, "self", "self", NULL);
        Job *jobs[] = { a, b, c, self };
        char **msgs = NULL;

        ASSERT_OK(job_order_build(jobs, 4, h, &msgs));
        ASSERT_EQ(strv_length(msgs), 1);
        fprintf(stderr, "    %s\n", msgs[0]);
        ASSERT_TRUE(strstr(msgs[0], "cycle"));
        /* Exactly one of the three edges is gone, so a start order exists. */
        ASSERT_EQ(a->n_after + b->n_after + c->n_after, 2);
        ASSERT_EQ(self->n_after, 0);
        strv_free(msgs);
        for (size_t i = 0; i < 4; i++)
                job_free(jobs[i]);
        hashmap_free(h);
}

TEST(long_chain) {
        enum { N = 20000 };
        Hashmap *h = hashmap_new_string();
        Job **jobs = calloc(N, sizeof(Job *));
        char name[32], prev[32];
        char **msgs = NULL;

        for (int i = 0; i < N; i++) {
                snprintf(name, sizeof(name), "j%d", i);
                jobs[i] = mk(h, name, i > 0 ? prev : NULL, NULL);
                snprintf(prev, sizeof(prev), "%s", name);
        }
        /* Close the ring: one cycle through every job. The search is iterative: no stack overflow. */
        DiagLoc loc = { .file = "t", .line = 1 };
        ASSERT_OK(job_config_assign(jobs[0]->config, "Unit", "After", prev, &loc, NULL));
        ASSERT_OK(job_order_build(jobs, N, h, &msgs));
        ASSERT_EQ(strv_length(msgs), 1);
        size_t edges = 0;
        for (int i = 0; i < N; i++)
                edges += jobs[i]->n_after;
        ASSERT_EQ(edges, N - 1);
        strv_free(msgs);
        for (int i = 0; i < N; i++)
                job_free(jobs[i]);
        free(jobs);
        hashmap_free(h);
}

int main(void) {
        RUN(edges);
        RUN(cycle_broken);
        RUN(long_chain);
        return 0;
}
