/* The directory loader on a temp tree: overrides across directories, one name twice in one
 * directory, directories and unreadable entries named like job files, junk that is ignored,
 * bad names, missing directories, and 1000 jobs. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf-load.h"
#include "diag-recorder.h"
#include "strv.h"
#include "tests.h"

static Recorder rec;
static const Diag diag = { .func = recorder_func, .userdata = &rec };
static char tmpdir[] = "/tmp/test-conf-load.XXXXXX";

static char *path_of(const char *rel) {
        char *p;

        ASSERT_TRUE(asprintf(&p, "%s/%s", tmpdir, rel) > 0);
        return p;
}

static void mkdir_rel(const char *rel) {
        _cleanup_free_ char *p = path_of(rel);

        ASSERT_EQ(mkdir(p, 0755), 0);
}

static void write_rel(const char *rel, const char *text) {
        _cleanup_free_ char *p = path_of(rel);
        FILE *f = fopen(p, "we");

        ASSERT_TRUE(f);
        ASSERT_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
        ASSERT_EQ(fclose(f), 0);
}

static const JobConfig *find(JobConfig **configs, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(configs[i]->name, name))
                        return configs[i];
        return NULL;
}

static bool sorted(JobConfig **configs, size_t n) {
        for (size_t i = 1; i < n; i++)
                if (strcmp(configs[i - 1]->name, configs[i]->name) >= 0)
                        return false;
        return true;
}

TEST(tree) {
        _cleanup_free_ char *a = path_of("a"), *b = path_of("b"), *missing = path_of("missing"),
                            *file = path_of("a/web.job"), *loop = path_of("loop");
        char *dirs[] = { a, missing, file, loop, b, NULL };
        JobConfig **configs = NULL;
        const JobConfig *c;
        size_t n = 0;

        mkdir_rel("a");
        mkdir_rel("b");
        /* a/: INI, YAML and JSON jobs */
        write_rel("a/web.job", "[Service]\nExecStart=/bin/a-web\n");
        write_rel("a/db.service", "[Unit]\nDescription=db\n[Service]\nExecStart=/usr/bin/db\n");
        write_rel("a/jobs.yaml", "jobs:\n  web:\n    ExecStart: /bin/yaml-web\n  api:\n    ExecStart: /bin/a-api\n"
                                 "  cache:\n    ExecStart: /bin/a-cache\n");
        write_rel("a/more.yml", "jobs:\n  cache:\n    ExecStart: /bin/yml-cache\n  queue:\n    ExecStart: /bin/q\n");
        write_rel("a/extra.json", "{\"jobs\": {\"mail\": {\"ExecStart\": \"/bin/mail\"}}}");
        write_rel("a/broken.json", "{\"jobs\": {");
        write_rel("a/rejected.job", "[Service]\nRestart=sometimes\nExecStart=/bin/x\n");
        /* junk: ignored without a word */
        write_rel("a/README", "hello");
        write_rel("a/notes.txt", "hello");
        write_rel("a/.hidden.job", "[Service]\nExecStart=/bin/hidden\n");
        write_rel("a/old.job~", "[Service]\nExecStart=/bin/old\n");
        write_rel("a/old.job.bak", "[Service]\nExecStart=/bin/old\n");
        write_rel("a/old.yaml.swp", "garbage");
        write_rel("a/.jobs.yaml.swp", "garbage");
        write_rel("a/x.bak", "garbage");
        /* bad name: warned about and skipped */
        write_rel("a/bad name!.job", "[Service]\nExecStart=/bin/true\n");
        write_rel("a/.job", "[Service]\nExecStart=/bin/true\n");
        /* a directory named like a job file */
        mkdir_rel("a/foo.job");
        mkdir_rel("a/dir.yaml");
        /* unreadable even as root: a dangling symlink and a symlink loop */
        {
                _cleanup_free_ char *d = path_of("a/dangling.job"), *l = path_of("a/selfloop.service");

                ASSERT_EQ(symlink("/nonexistent/pmd-test/target", d), 0);
                ASSERT_EQ(symlink(l, l), 0);
        }
        /* a FIFO must not hang the loader */
        {
                _cleanup_free_ char *f = path_of("a/pipe.job");

                ASSERT_EQ(mkfifo(f, 0644), 0);
        }
        /* a directory that cannot be opened: a symlink loop */
        ASSERT_EQ(symlink(loop, loop), 0);

        /* b/: overrides */
        write_rel("b/web.job", "[Service]\nExecStart=/bin/b-web\n");
        write_rel("b/api.json", "{\"jobs\": {\"api\": {\"ExecStart\": \"/bin/b-api\"}}}");
        write_rel("b/db.job", "[Service]\nRestart=bogus\nExecStart=/bin/b-db\n"); /* rejected still overrides */

        recorder_reset(&rec);
        ASSERT_OK(conf_load_dirs(dirs, &diag, &configs, &n));
        ASSERT_TRUE(sorted(configs, n));

        /* web: b overrides a; in a, web.job beat jobs.yaml's web */
        c = find(configs, n, "web");
        ASSERT_TRUE(c && !c->error);
        ASSERT_STREQ(c->exec_start.commands[0].argv[0], "/bin/b-web");
        ASSERT_TRUE(recorded(&rec, DIAG_WARNING, NULL, "already defined"));
        c = find(configs, n, "api");
        ASSERT_TRUE(c && !c->error);
        ASSERT_STREQ(c->exec_start.commands[0].argv[0], "/bin/b-api");
        c = find(configs, n, "db");
        ASSERT_TRUE(c && c->error);
        ASSERT_TRUE(strstr(c->source_path, "/b/db.job"));
        /* cache: jobs.yaml sorts before more.yml, so the first one wins */
        c = find(configs, n, "cache");
        ASSERT_TRUE(c && !c->error);
        ASSERT_STREQ(c->exec_start.commands[0].argv[0], "/bin/a-cache");
        ASSERT_TRUE(find(configs, n, "queue"));
        ASSERT_TRUE(find(configs, n, "mail"));
        ASSERT_TRUE(find(configs, n, "rejected") && find(configs, n, "rejected")->error);

        /* entries named like job files that cannot be read: rejected jobs with the reason */
        c = find(configs, n, "foo");
        ASSERT_TRUE(c && c->error);
        {
                _cleanup_free_ char *expect = NULL;

                ASSERT_TRUE(asprintf(&expect, "%s/foo.job: Is a directory", a) > 0);
                ASSERT_STREQ(c->error, expect);
                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, expect, NULL));
        }
        c = find(configs, n, "dangling");
        ASSERT_TRUE(c && c->error && strstr(c->error, "No such file or directory"));
        c = find(configs, n, "selfloop");
        ASSERT_TRUE(c && c->error && strstr(c->error, "symbolic links"));
        c = find(configs, n, "pipe");
        ASSERT_TRUE(c && c->error && strstr(c->error, "Not a regular file"));
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, NULL, "dir.yaml: Is a directory"));
        ASSERT_TRUE(recorded(&rec, DIAG_ERROR, NULL, "broken.json:"));

        /* junk ignored, bad names warned */
        ASSERT_TRUE(!find(configs, n, "hidden") && !find(configs, n, "old") && !find(configs, n, "README"));
        ASSERT_TRUE(recorded(&rec, DIAG_WARNING, NULL, "Invalid job name 'bad name!'"));
        ASSERT_TRUE(recorded(&rec, DIAG_WARNING, NULL, "Failed to open job directory"));

        /* exactly these jobs */
        ASSERT_EQ(n, 11); /* api cache dangling db foo mail pipe queue rejected selfloop web */
        job_config_array_free(configs, n);
}

TEST(empty_and_missing) {
        _cleanup_free_ char *e = path_of("empty"), *m = path_of("nope");
        char *dirs[] = { e, m, NULL };
        JobConfig **configs = (JobConfig **) 1;
        size_t n = 99;

        mkdir_rel("empty");
        recorder_reset(&rec);
        ASSERT_OK(conf_load_dirs(dirs, &diag, &configs, &n));
        ASSERT_EQ(n, 0);
        ASSERT_EQ(rec.n, 0);
        job_config_array_free(configs, n);

        ASSERT_OK(conf_load_dirs(NULL, &diag, &configs, &n));
        ASSERT_EQ(n, 0);
        job_config_array_free(configs, n);
}

TEST(unreadable_dir_as_user) {
        /* chmod 000 does not stop root; the symlink loop in "tree" covers the root case. */
        _cleanup_free_ char *d = path_of("locked");
        char *dirs[] = { d, NULL };
        JobConfig **configs = NULL;
        size_t n = 0;

        if (geteuid() == 0) {
                fprintf(stderr, "    (skipped: running as root)\n");
                return;
        }
        mkdir_rel("locked");
        write_rel("locked/a.job", "[Service]\nExecStart=/bin/true\n");
        ASSERT_EQ(chmod(d, 0), 0);
        recorder_reset(&rec);
        ASSERT_OK(conf_load_dirs(dirs, &diag, &configs, &n));
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(recorded(&rec, DIAG_WARNING, NULL, "Permission denied"));
        ASSERT_EQ(chmod(d, 0755), 0);
        job_config_array_free(configs, n);
}

TEST(thousand) {
        _cleanup_free_ char *d = path_of("many"), *d2 = path_of("many2");
        char *dirs[] = { d, d2, NULL };
        JobConfig **configs = NULL;
        struct timespec t0, t1;
        size_t n = 0;
        double secs;
        FILE *f;

        mkdir_rel("many");
        mkdir_rel("many2");
        for (int i = 999; i >= 0; i--) {
                char rel[64], text[128];

                (void) snprintf(rel, sizeof(rel), "many/job%04d.job", i);
                (void) snprintf(text, sizeof(text), "[Service]\nExecStart=/bin/sleep %d\n", i);
                write_rel(rel, text);
        }
        /* and 1000 more in one YAML file of the second directory, half of them overriding */
        {
                _cleanup_free_ char *y = path_of("many2/all.yaml");

                f = fopen(y, "we");
                ASSERT_TRUE(f);
                fputs("jobs:\n", f);
                for (int i = 500; i < 1500; i++)
                        fprintf(f, "  job%04d:\n    ExecStart: /bin/yaml %d\n", i, i);
                ASSERT_EQ(fclose(f), 0);
        }

        recorder_reset(&rec);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ASSERT_OK(conf_load_dirs(dirs, &diag, &configs, &n));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "    2000 definitions, %zu jobs in %.3f s\n", n, secs);
        ASSERT_TRUE(secs < 5.0);
        ASSERT_EQ(n, 1500);
        ASSERT_EQ(rec.n, 0);
        ASSERT_TRUE(sorted(configs, n));
        ASSERT_STREQ(configs[0]->name, "job0000");
        ASSERT_STREQ(configs[0]->exec_start.commands[0].argv[0], "/bin/sleep");
        ASSERT_STREQ(configs[600]->name, "job0600");
        ASSERT_STREQ(configs[600]->exec_start.commands[0].argv[0], "/bin/yaml");
        job_config_array_free(configs, n);
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmpdir));
        RUN(tree);
        RUN(empty_and_missing);
        RUN(unreadable_dir_as_user);
        RUN(thousand);
        recorder_reset(&rec);
        {
                char cmd[300];

                (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
                ASSERT_EQ(system(cmd), 0);
        }
        return 0;
}
