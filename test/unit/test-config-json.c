/* JSON job files: the SPEC 3.3 example as JSON, flat and nested sections, lists, numbers and
 * booleans, value errors with FILE:LINE:COLUMN, syntax errors, and hostile input. */
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

static Parsed parse_buf(const char *data, size_t size) {
        Parsed p = {};

        recorder_reset(&rec);
        p.r = conf_json_parse_string(data, size, "t.json", &diag, &p.configs, &p.n);
        return p;
}

static Parsed parse(const char *text) {
        return parse_buf(text, strlen(text));
}

static Parsed parse_file(const char *path) {
        Parsed p = {};

        recorder_reset(&rec);
        p.r = conf_json_parse_file(path, &diag, &p.configs, &p.n);
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
        Parsed p = parse_file("fixtures/json/spec-example.json");
        JobConfig *web, *worker;

        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 2);
        ASSERT_EQ(rec.n_errors, 0);
        web = find(&p, "web");
        worker = find(&p, "worker");
        ASSERT_TRUE(web && !web->error);
        ASSERT_TRUE(worker && !worker->error);
        ASSERT_EQ(web->source_line, 3);
        ASSERT_EQ(worker->source_line, 9);
        ASSERT_STREQ(web->description, "demo web server");
        ASSERT_EQ(web->exec_start.n, 1);
        ASSERT_EQ(web->exec_start.commands[0].line, 5);
        ASSERT_EQ(web->restart, RESTART_ALWAYS);
        ASSERT_EQ(web->log_format, LOG_FORMAT_JSON);
        ASSERT_EQ(web->log_max_size, 50ULL * 1024 * 1024);
        ASSERT_EQ(strv_length(worker->requires), 1);
        ASSERT_STREQ(worker->requires[0], "web");
        parsed_done(&p);
}

TEST(nested_sections) {
        Parsed p = parse_file("fixtures/json/nested.json");
        JobConfig *api;

        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        api = p.configs[0];
        ASSERT_TRUE(!api->error);
        ASSERT_EQ(rec.n_errors, 0);
        ASSERT_STREQ(api->description, "the API");
        ASSERT_EQ(strv_length(api->after), 2);
        ASSERT_EQ(api->exec_start_pre.n, 2);
        ASSERT_EQ(api->exec_start_pre.commands[0].line, 5);
        ASSERT_EQ(api->exec_start.n, 1);
        ASSERT_STREQ(strv_env_get(api->environment, "MODE"), "prod");
        ASSERT_EQ(api->restart_usec, 1500 * USEC_PER_MSEC); /* 1.5 as written */
        ASSERT_TRUE(!api->auto_start);                     /* false → "no" */
        ASSERT_STREQ(api->runner, "docker");
        ASSERT_TRUE(strv_contains(api->runner_settings, "Image=example/api:1.2"));
        ASSERT_EQ(api->log_max_files, 3);
        parsed_done(&p);
}

TEST(flat_lists_scalars) {
        Parsed p = parse("{\"jobs\": {\"a\": {\"ExecStart\": [\"/bin/sleep 1\"], \"Description\": [\"hello\", \"world\"],"
                         " \"Wants\": [\"x\", \"y\"], \"AutoStart\": true, \"Environment\": [],"
                         " \"RestartSec\": 7, \"Job\": {\"Before\": \"z\"}},"
                         " \"b\": {\"ExecStart\": \"/bin/true \\u00e9\\\"q\\\"\", \"Description\": null}}}");
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
        ASSERT_EQ(a->restart_usec, 7 * USEC_PER_SEC);
        ASSERT_EQ(strv_length(a->before), 1);
        ASSERT_EQ(b->exec_start.n, 1);
        parsed_done(&p);
}

TEST(value_errors_have_positions) {
        Parsed p = parse_file("fixtures/json/good-and-bad.json");
        JobConfig *good, *bad;

        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 2);
        good = find(&p, "good");
        bad = find(&p, "bad");
        ASSERT_TRUE(good && !good->error);
        ASSERT_TRUE(bad && bad->error);
        ASSERT_TRUE(strneq(bad->error, "fixtures/json/good-and-bad.json:6:18: ", 38));
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "fixtures/json/good-and-bad.json:6:18: ", NULL));
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "fixtures/json/good-and-bad.json:8:5: ", "not a valid name!"));
        parsed_done(&p);

        /* Columns count characters: "é" is one. */
        p = parse("{\"jobs\": {\"a\": {\"Description\": \"\xc3\xa9\", \"Restart\": 5, \"ExecStart\": \"/x\"}}}");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_TRUE(p.configs[0]->error);
        ASSERT_TRUE(strneq(p.configs[0]->error, "t.json:1:48: ", 13));
        parsed_done(&p);

        /* A mapping where a value belongs, and deeper nesting. */
        p = parse("{\"jobs\": {\"a\": {\"ExecStart\": \"/bin/true\",\n \"Restart\": {\"x\": 1}},\n"
                  "\"b\": {\"ExecStart\": [[\"/bin/true\"]]},\n"
                  "\"c\": {\"ExecStart\": \"/bin/true\"}}}");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 3);
        ASSERT_TRUE(find(&p, "a")->error && strneq(find(&p, "a")->error, "t.json:2:13: ", 13));
        ASSERT_TRUE(find(&p, "b")->error && strneq(find(&p, "b")->error, "t.json:3:21: ", 13));
        ASSERT_TRUE(!find(&p, "c")->error);
        parsed_done(&p);

        /* A job that is not an object. */
        p = parse("{\"jobs\": {\"a\": 5}}");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 1);
        ASSERT_TRUE(p.configs[0]->error && strneq(p.configs[0]->error, "t.json:1:16: ", 13));
        parsed_done(&p);
}

TEST(shape_errors) {
        Parsed p;

        p = parse("[1, 2]");
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.json:1:1: ", NULL));
        parsed_done(&p);

        p = parse("{\"jobs\": \"web\"}");
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.json:1:10: ", NULL));
        parsed_done(&p);

        p = parse("{\"version\": 1, \"jobs\": {}}");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_WARNING, "t.json:1:2: ", "version"));
        parsed_done(&p);

        p = parse("{}");
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, 0);
        ASSERT_EQ(rec.n, 0);
}

TEST(syntax_errors) {
        const char *bad[] = {
                "",
                "{\"jobs\": {\"web\": {\"ExecStart\": \"/bin/true\"}}",
                "{\"jobs\": {\"web\": {\"ExecStart\": \"/bin/true\",}}}",
                "{\"jobs\":\n {\"web\": {\"ExecStart\": '/bin/true'}}}",
                "{\"jobs\": {\"web\": {\"ExecStart\": \"a\\u0000b\"}}}",
                "{\"jobs\": {\"web\": {}}} trailing",
                /* Duplicate keys: jansson would keep only one of them. */
                "{\"jobs\": {\"web\": {\"ExecStart\": \"/a\"},\n \"web\": {\"ExecStart\": \"/b\"}}}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Parsed p = parse(bad[i]);

                ASSERT_TRUE(p.r < 0);
                ASSERT_EQ(p.n, 0);
                ASSERT_EQ(rec.n_errors, 1);
                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.json:", "JSON syntax error"));
                parsed_done(&p);
        }

        {
                Parsed p = parse(bad[3]);

                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.json:2:", NULL));
                parsed_done(&p);
                p = parse(bad[6]);
                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.json:2:", "duplicate"));
                parsed_done(&p);
        }
}

TEST(hostile) {
        size_t depth = 10000;
        char *s = malloc(depth * 8 + 64), *q;
        Parsed p;

        ASSERT_TRUE(s);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = '\0';
        p = parse(s);
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        parsed_done(&p);

        /* Deeper than our limit but within jansson's. */
        q = stpcpy(s, "{\"jobs\": {\"x\": ");
        for (size_t i = 0; i < 100; i++)
                q = stpcpy(q, "{\"a\": ");
        q = stpcpy(q, "1");
        for (size_t i = 0; i < 102; i++)
                *q++ = '}';
        *q = '\0';
        p = parse(s);
        ASSERT_TRUE(p.r < 0);
        ASSERT_EQ(p.n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.json:1:", "deeply"));
        parsed_done(&p);
        free(s);

        {
                char buf[2048];
                unsigned seed = 4242;

                for (int round = 0; round < 300; round++) {
                        size_t size = (size_t) (rand_r(&seed) % sizeof(buf));

                        for (size_t i = 0; i < size; i++)
                                buf[i] = (char) (rand_r(&seed) & 0xff);
                        if (size > 0 && round % 2)
                                buf[0] = '{';
                        p = parse_buf(buf, size);
                        if (p.r < 0)
                                ASSERT_EQ(p.n, 0);
                        parsed_done(&p);
                }
        }

        /* Millions of tiny values: refused before jansson builds them. */
        {
                size_t count = 2200000;
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
                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, "t.json: ", "Too many values"));
                parsed_done(&p);
                free(many);
        }

        {
                size_t size = 16U * 1024U * 1024U + 1;
                char *big = malloc(size);

                ASSERT_TRUE(big);
                memset(big, ' ', size);
                p = parse_buf(big, size);
                ASSERT_EQ(p.r, -EFBIG);
                parsed_done(&p);
                free(big);
        }
}

TEST(many_jobs) {
        size_t n = 2000, len = 0;
        char *s = malloc(n * 64 + 16);
        Parsed p;

        ASSERT_TRUE(s);
        len += (size_t) sprintf(s, "{\"jobs\": {");
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(s + len, "%s\n\"job%zu\": {\"ExecStart\": \"/bin/sleep %zu\"}", i ? "," : "",
                                        i, i);
        strcpy(s + len, "}}");
        p = parse(s);
        ASSERT_OK(p.r);
        ASSERT_EQ(p.n, n);
        ASSERT_EQ(rec.n, 0);
        /* Positions stay in step over the whole file. */
        ASSERT_EQ(p.configs[n - 1]->source_line, n + 1);
        ASSERT_EQ(p.configs[n - 1]->exec_start.commands[0].line, n + 1);
        parsed_done(&p);
        free(s);
}

int main(void) {
        RUN(spec_example);
        RUN(nested_sections);
        RUN(flat_lists_scalars);
        RUN(value_errors_have_positions);
        RUN(shape_errors);
        RUN(syntax_errors);
        RUN(hostile);
        RUN(many_jobs);
        recorder_reset(&rec);
        return 0;
}
