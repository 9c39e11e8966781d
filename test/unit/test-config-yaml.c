/* YAML job files: the SPEC 3.3 example, flat and nested sections, lists, value errors with
 * FILE:LINE:COLUMN, syntax errors, and hostile input (deep nesting, alias bombs, junk). */
#include <string.h>
#include <time.h>

#include "conf-load.h"
#include "diag-recorder.h"
#include "strv.h"
#include "tests.h"

typedef struct Parsed {
        JobConfig **configs;
        size_t n;
        int r;
} Parsed;

static Recorder rec;
static const Diag diag = { .func = recorder_func, .userdata = &rec };

static Parsed parse(const char *text) {
        Parsed p = {};

        recorder_reset(&rec);
        p.r = conf_yaml_parse_string(text, strlen(text), "t.yaml", &diag, &p.configs, &p.n);
        return p;
}

static Parsed parse_buf(const char *data, size_t size) {
        Parsed p = {};

        recorder_reset(&rec);
        p.r = conf_yaml_parse_string(data, size, "t.yaml", &diag, &p.configs, &p.n);
        return p;
}

static void parsed_done(Parsed *p) {
        job_config_array_free(p->configs, p->n);
        *p = (Parsed) {};
}

static JobConfig *find(const Parsed *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->configs[i]->name, name))
                        return p->configs[i];
        return NULL;
}

TEST(spec_example) {
        Parsed p = {};
        JobConfig *web, *worker;

        recorder_reset(&rec);
        p.r = conf_yaml_parse_file("fixtures/yaml/spec-example.yaml", &diag, &p.configs, &p.n);
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 2);
        ASSERT_EQ(rec.n_errors, 0);
        web = find(&p, "web");
        worker = find(&p, "worker");
        ASSERT_TRUE(web && worker);
        ASSERT_TRUE(!web->error);
        ASSERT_TRUE(!worker->error);
        ASSERT_STREQ(web->source_path, "fixtures/yaml/spec-example.yaml");
        ASSERT_EQ(web->source_line, 2);
        ASSERT_EQ(worker->source_line, 7);
        ASSERT_STREQ(web->description, "demo web server");
        ASSERT_EQ(web->exec_start.n, 1);
        ASSERT_STREQ(web->exec_start.commands[0].argv[0], "python3");
        ASSERT_EQ(web->exec_start.commands[0].line, 4);
        ASSERT_EQ(web->restart, RESTART_ALWAYS);
        ASSERT_EQ(web->log_format, LOG_FORMAT_JSON);
        ASSERT_EQ(web->log_max_size, 50ULL * 1024 * 1024);
        ASSERT_EQ(worker->restart, RESTART_NO);
        ASSERT_EQ(strv_length(worker->requires), 1);
        ASSERT_STREQ(worker->requires[0], "web");
        parsed_done(&p);
}

TEST(nested_sections) {
        Parsed p = {};
        JobConfig *api;

        recorder_reset(&rec);
        p.r = conf_yaml_parse_file("fixtures/yaml/nested.yaml", &diag, &p.configs, &p.n);
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        api = p.configs[0];
        ASSERT_TRUE(!api->error);
        ASSERT_EQ(rec.n_errors, 0);
        ASSERT_STREQ(api->description, "the API");
        ASSERT_EQ(strv_length(api->after), 2);
        ASSERT_STREQ(api->after[1], "cache");
        /* A list of a list key: one assignment per item, each with its own line. */
        ASSERT_EQ(api->exec_start_pre.n, 2);
        ASSERT_EQ(api->exec_start_pre.commands[0].line, 9);
        ASSERT_EQ(api->exec_start_pre.commands[1].line, 10);
        ASSERT_EQ(api->exec_start.n, 1);
        ASSERT_STREQ(strv_env_get(api->environment, "PORT"), "8080");
        ASSERT_STREQ(strv_env_get(api->environment, "MODE"), "prod");
        ASSERT_EQ(api->restart_usec, 5 * USEC_PER_SEC);
        ASSERT_TRUE(!api->auto_start); /* YAML false → "no" */
        ASSERT_STREQ(api->runner, "docker");
        ASSERT_TRUE(strv_contains(api->runner_settings, "Image=example/api:1.2"));
        ASSERT_EQ(api->log_format, LOG_FORMAT_TEXT);
        ASSERT_EQ(api->log_max_files, 3);
        parsed_done(&p);
}

TEST(flat_and_lists) {
        Parsed p = parse("jobs:\n"
                         "  a:\n"
                         "    ExecStart: /bin/sleep 1\n"
                         "    Description: [hello, world]\n" /* not a list key: joined */
                         "    Wants: [x, y]\n"
                         "    AutoStart: true\n"
                         "    Log: {Format: json}\n"
                         "  b:\n"
                         "    ExecStart: [\"/bin/echo one\"]\n"
                         "    Environment: []\n"
                         "    Job: {Description: via the Job alias}\n");
        JobConfig *a, *b;

        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 2);
        a = find(&p, "a");
        b = find(&p, "b");
        ASSERT_TRUE(a && !a->error);
        ASSERT_TRUE(b && !b->error);
        ASSERT_STREQ(a->description, "hello world");
        ASSERT_EQ(strv_length(a->wants), 2);
        ASSERT_TRUE(a->auto_start);
        ASSERT_EQ(a->log_format, LOG_FORMAT_JSON);
        ASSERT_EQ(b->exec_start.n, 1);
        ASSERT_EQ(strv_length(b->environment), 0);
        ASSERT_STREQ(b->description, "via the Job alias");
        parsed_done(&p);
}

TEST(value_errors_have_positions) {
        Parsed p = {};
        JobConfig *good, *bad;

        recorder_reset(&rec);
        p.r = conf_yaml_parse_file("fixtures/yaml/good-and-bad.yaml", &diag, &p.configs, &p.n);
        ASSERT_OK(p.r);
        /* The invalid name is not a job; the bad job is, rejected; the good one loads. */
        ASSERT_EQ(p.n, 2);
        good = find(&p, "good");
        bad = find(&p, "bad");
        ASSERT_TRUE(good && !good->error);
        ASSERT_EQ(good->exec_start.n, 1);
        ASSERT_TRUE(bad && bad->error);
        ASSERT_TRUE(strneq(bad->error, "fixtures/yaml/good-and-bad.yaml:6:14: ", 38));
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "fixtures/yaml/good-and-bad.yaml:6:14: ", NULL));
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "fixtures/yaml/good-and-bad.yaml:7:3: ", "not a valid name!"));
        parsed_done(&p);
}

TEST(shape_errors) {
        Parsed p;
        JobConfig *c;

        /* A mapping where a value belongs: the job is rejected at the mapping. */
        p = parse("jobs:\n  a:\n    ExecStart: /bin/true\n    Restart: {x: y}\n  b:\n    ExecStart: /bin/true\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 2);
        c = find(&p, "a");
        ASSERT_TRUE(c->error && strneq(c->error, "t.yaml:4:14: ", 13));
        ASSERT_TRUE(!find(&p, "b")->error);
        parsed_done(&p);

        /* Nested deeper than a list of values. */
        p = parse("jobs:\n  a:\n    ExecStart: [[/bin/true]]\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_TRUE(p.configs[0]->error && strneq(p.configs[0]->error, "t.yaml:3:17: ", 13));
        parsed_done(&p);

        p = parse("jobs:\n  a:\n    Log: {Format: {deeper: yes}}\n    ExecStart: /bin/true\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_TRUE(p.configs[0]->error && strneq(p.configs[0]->error, "t.yaml:3:19: ", 13));
        parsed_done(&p);

        /* A job that is not a mapping. */
        p = parse("jobs:\n  a: /bin/true\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_TRUE(p.configs[0]->error && strneq(p.configs[0]->error, "t.yaml:2:6: ", 12));
        parsed_done(&p);

        /* An empty job: rejected by job_config_finish(), at the job name. */
        p = parse("jobs:\n  a:\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_TRUE(p.configs[0]->error && strneq(p.configs[0]->error, "t.yaml:2:3: ", 12));
        parsed_done(&p);

        /* Not the "jobs:" layout at all: the file is an error. */
        p = parse("- a\n- b\n");
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:1:1: ", NULL));
        parsed_done(&p);

        p = parse("jobs: [a, b]\n");
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        parsed_done(&p);

        /* Unknown top-level keys are warned about. */
        p = parse("version: 1\njobs:\n  a:\n    ExecStart: /bin/true\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_TRUE(recorded(&rec, DIAG_WARNING, "t.yaml:1:1: ", "version"));
        parsed_done(&p);

        /* Empty files and comments only: no jobs, no error. */
        p = parse("");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 0);
        p = parse("# nothing here\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 0);
        p = parse("jobs:\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 0);
        ASSERT_EQ(rec.n, 0);
}

TEST(duplicate_job_names) {
        Parsed p = parse("jobs:\n  a:\n    ExecStart: /bin/one\n  a:\n    ExecStart: /bin/two\n");

        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_STREQ(p.configs[0]->exec_start.commands[0].argv[0], "/bin/one");
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:4:3: ", "already defined at line 2"));
        parsed_done(&p);
}

TEST(syntax_errors) {
        Parsed p;
        const char *bad[] = {
                "jobs:\n  web:\n    ExecStart: [/bin/true\n",
                "jobs:\n  web:\n    ExecStart: /bin/true\n   Restart: always\n",
                "jobs:\n  web: {ExecStart: \"/bin/true}\n",
                "jobs:\n\t- tab\n",
                "---\njobs: {}\n---\njobs: {}\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                p = parse(bad[i]);
                ASSERT_TRUE(p.r < 0);
                ASSERT_EQ(p.n, 0);
                ASSERT_TRUE(p.configs == NULL);
                ASSERT_EQ(rec.n_errors, 1);
                /* FILE:LINE:COLUMN */
                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:", NULL));
                ASSERT_TRUE(strchr(rec.msgs[0] + 7, ':') && strchr(strchr(rec.msgs[0] + 7, ':') + 1, ':'));
                parsed_done(&p);
        }

        /* A syntax error after good jobs: the file contributes nothing, not even warnings. */
        p = parse("jobs:\n  a:\n    ExecStart: /bin/true\n    Bogus: 1\n  b: [\n");
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        ASSERT_EQ(rec.n, 1);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:6:1: ", NULL) ||
                    recorded(&rec, DIAG_ERROR, "t.yaml:5:", NULL));
        parsed_done(&p);

        /* Appends nothing to what the caller already has. */
        {
                Parsed q = parse("jobs:\n  a:\n    ExecStart: /bin/true\n");
                size_t n = q.n;

                ASSERT_EQ(n, 1);
                ASSERT_TRUE(conf_yaml_parse_string("jobs: [", 7, "t.yaml", &diag, &q.configs, &q.n) < 0);
                ASSERT_EQ(q.n, 1);
                parsed_done(&q);
        }
}

TEST(deep_nesting) {
        size_t depth = 10000;
        char *s = malloc(depth * 2 + 16);
        Parsed p;

        ASSERT_TRUE(s);
        /* Flow style */
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = '\0';
        p = parse(s);
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:1:65: ", "deeply"));
        parsed_done(&p);

        /* Mappings: {a: {a: {a: … */
        {
                char *m = malloc(depth * 4 + 16), *q = m;

                ASSERT_TRUE(m);
                q = stpcpy(q, "jobs:\n  x: ");
                for (size_t i = 0; i < depth; i++)
                        q = stpcpy(q, "{a: ");
                *q = '\0';
                p = parse(m);
                ASSERT_TRUE(p.r < 0);
                ASSERT_EQ(p.n, 0);
                parsed_done(&p);
                free(m);
        }
        free(s);
}

TEST(aliases) {
        Parsed p;
        const char *bomb =
                "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
                "jobs:\n  x:\n    ExecStart: *i\n";

        p = parse(bomb);
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:2:8: ", "alias"));
        parsed_done(&p);

        /* Even a harmless alias: job files do not need them. */
        p = parse("jobs:\n  a: &x\n    ExecStart: /bin/true\n  b: *x\n");
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        parsed_done(&p);

        /* An anchor alone is fine. */
        p = parse("jobs:\n  a: &x\n    ExecStart: /bin/true\n");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        parsed_done(&p);
}

TEST(junk) {
        char buf[4096];
        unsigned seed = 12345;
        Parsed p;

        for (int round = 0; round < 200; round++) {
                size_t size = (size_t) (rand_r(&seed) % sizeof(buf));

                for (size_t i = 0; i < size; i++)
                        buf[i] = (char) (rand_r(&seed) & 0xff);
                p = parse_buf(buf, size);
                if (p.r < 0)
                        ASSERT_EQ(p.n, 0);
                parsed_done(&p);
        }

        /* NUL bytes and invalid UTF-8 are syntax errors with a position. */
        p = parse_buf("jobs:\n  a:\0\n", 12);
        ASSERT_TRUE(p.r < 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:2:5: ", NULL));
        parsed_done(&p);
        p = parse("jobs:\n  a:\n    ExecStart: /bin/\xff\xfe\n");
        ASSERT_TRUE(p.r < 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:3:21: ", NULL));
        parsed_done(&p);

        /* A NUL escape inside a value. */
        p = parse("jobs:\n  a:\n    ExecStart: \"/bin/true\\0x\"\n");
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        parsed_done(&p);

        /* Too many values. */
        {
                size_t count = 1100000;
                char *many = malloc(count * 2 + 16);

                ASSERT_TRUE(many);
                many[0] = '[';
                for (size_t i = 0; i < count; i++) {
                        many[1 + 2 * i] = '0';
                        many[2 + 2 * i] = ',';
                }
                strcpy(many + 2 * count, "0]");
                p = parse(many);
                ASSERT_EQ(p.r, -E2BIG);
                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.yaml:1:", "Too many values"));
                parsed_done(&p);
                free(many);
        }

        /* Too large. */
        {
                size_t size = 16U * 1024U * 1024U + 1;
                char *big = malloc(size);

                ASSERT_TRUE(big);
                memset(big, '#', size);
                p = parse_buf(big, size);
                ASSERT_EQ(p.r, -EFBIG);
                parsed_done(&p);
                free(big);
        }
}

TEST(many_jobs) {
        size_t n = 2000, len = 0;
        char *s = malloc(n * 64 + 16);
        struct timespec a, b;
        Parsed p;

        ASSERT_TRUE(s);
        len += (size_t) sprintf(s, "jobs:\n");
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(s + len, "  job%zu:\n    ExecStart: /bin/sleep %zu\n", i, i);
        clock_gettime(CLOCK_MONOTONIC, &a);
        p = parse(s);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, n);
        ASSERT_EQ(rec.n, 0);
        ASSERT_TRUE((b.tv_sec - a.tv_sec) < 5);
        parsed_done(&p);
        free(s);
}

TEST(missing_file) {
        Parsed p = {};

        recorder_reset(&rec);
        p.r = conf_yaml_parse_file("fixtures/yaml/does-not-exist.yaml", &diag, &p.configs, &p.n);
        ASSERT_EQ(p.r, -ENOENT);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "fixtures/yaml/does-not-exist.yaml: ", NULL));
        recorder_reset(&rec);
        p.r = conf_yaml_parse_file("fixtures/yaml", &diag, &p.configs, &p.n);
        ASSERT_EQ(p.r, -EISDIR);
        ASSERT_EQ(p.n, 0);
}

int main(void) {
        RUN(spec_example);
        RUN(nested_sections);
        RUN(flat_and_lists);
        RUN(value_errors_have_positions);
        RUN(shape_errors);
        RUN(duplicate_job_names);
        RUN(syntax_errors);
        RUN(deep_nesting);
        RUN(aliases);
        RUN(junk);
        RUN(many_jobs);
        RUN(missing_file);
        recorder_reset(&rec);
        return 0;
}
