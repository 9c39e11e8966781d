/* Start and stop ordering. After=/Before= become edges "a starts after b"; a depth-first search
 * over them finds cycles, and each is broken by dropping the edge that closed it, with a message
 * naming the cycle, so a bad set of files never makes pmd wait forever. Linear in jobs + edges:
 * names resolve through the manager's hash map, and the search is iterative (deep chains of
 * thousands of jobs cannot overflow the stack). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "util/hashmap.h"
#include "util/strv.h"

void job_order_clear(Job *j) {
        free(j->after);
        free(j->dependents);
        j->after = j->dependents = NULL;
        j->n_after = j->n_dependents = 0;
}

static int push_edge(Job ***list, size_t *n, Job *x) {
        Job **l = realloc(*list, (*n + 1) * sizeof(Job *));
        if (!l)
                return -ENOMEM;
        l[(*n)++] = x;
        *list = l;
        return 0;
}

static int add_edge(Job ***list, size_t *n, Job *x) {
        Job **l;

        for (size_t i = 0; i < *n; i++)
                if ((*list)[i] == x)
                        return 0;
        l = realloc(*list, (*n + 1) * sizeof(Job *));
        if (!l)
                return -ENOMEM;
        l[(*n)++] = x;
        *list = l;
        return 0;
}

enum { WHITE, GREY, BLACK };

typedef struct Frame {
        Job *job;
        size_t next; /* next index into job->after */
} Frame;

static int describe_cycle(Frame *stack, size_t depth, Job *closing, char ***messages) {
        _cleanup_free_ char *path = NULL;
        size_t start = 0;
        char *m;

        for (size_t i = 0; i < depth; i++)
                if (stack[i].job == closing)
                        start = i;
        for (size_t i = start; i < depth; i++) {
                char *p;
                if (asprintf(&p, "%s%s -> ", path ? path : "", stack[i].job->name) < 0)
                        return -ENOMEM;
                free(path);
                path = p;
        }
        if (asprintf(&m, "Ordering cycle %s%s, ignoring the ordering of %s after %s", path ? path : "",
                     closing->name, stack[depth - 1].job->name, closing->name) < 0)
                return -ENOMEM;
        return strv_consume(messages, m);
}

int job_order_build(Job **jobs, size_t n, const Hashmap *by_name, char ***ret_messages) {
        _cleanup_strv_free_ char **messages = NULL;
        _cleanup_free_ unsigned char *colour = NULL;
        _cleanup_free_ Frame *stack = NULL;
        Hashmap *index = NULL;
        int r;

        for (size_t i = 0; i < n; i++)
                job_order_clear(jobs[i]);

        /* Edges: a After b, and b Before a, both mean "a starts after b". */
        for (size_t i = 0; i < n; i++) {
                Job *a = jobs[i];
                STRV_FOREACH(name, a->config->after) {
                        Job *b = hashmap_get(by_name, *name);
                        if (b && b != a && (r = add_edge(&a->after, &a->n_after, b)) < 0)
                                return r;
                }
                STRV_FOREACH(name, a->config->before) {
                        Job *b = hashmap_get(by_name, *name);
                        if (b && b != a && (r = add_edge(&b->after, &b->n_after, a)) < 0)
                                return r;
                }
        }

        /* Colours by position: map each job to its index. */
        index = hashmap_new_uint64();
        colour = calloc(n ? n : 1, 1);
        stack = calloc(n ? n : 1, sizeof(Frame));
        if (!index || !colour || !stack) {
                hashmap_free(index);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (hashmap_put(index, jobs[i], (void *) (uintptr_t) (i + 1)) < 0) {
                        hashmap_free(index);
                        return -ENOMEM;
                }

#define COLOUR(j) colour[(uintptr_t) hashmap_get(index, (j)) - 1]
        for (size_t root = 0; root < n; root++) {
                size_t depth = 0;

                if (colour[root] != WHITE)
                        continue;
                stack[depth++] = (Frame) { .job = jobs[root] };
                colour[root] = GREY;
                while (depth > 0) {
                        Frame *f = &stack[depth - 1];
                        Job *next;

                        if (f->next >= f->job->n_after) {
                                COLOUR(f->job) = BLACK;
                                depth--;
                                continue;
                        }
                        next = f->job->after[f->next];
                        if (!hashmap_get(index, next)) { /* not among these jobs */
                                f->next++;
                                continue;
                        }
                        if (COLOUR(next) == GREY) {
                                r = describe_cycle(stack, depth, next, &messages);
                                if (r < 0) {
                                        hashmap_free(index);
                                        return r;
                                }
                                /* Drop the closing edge: swap-remove keeps the walk linear. */
                                f->job->after[f->next] = f->job->after[--f->job->n_after];
                                continue;
                        }
                        f->next++;
                        if (COLOUR(next) == WHITE) {
                                COLOUR(next) = GREY;
                                stack[depth++] = (Frame) { .job = next };
                        }
                }
        }
#undef COLOUR
        hashmap_free(index);

        /* Reverse edges. */
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < jobs[i]->n_after; k++) {
                        Job *b = jobs[i]->after[k];
                        r = push_edge(&b->dependents, &b->n_dependents, jobs[i]);
                        if (r < 0)
                                return r;
                }

        if (ret_messages)
                *ret_messages = TAKE_PTR(messages);
        return 0;
}
