/* Tests of the SQLite registry on temporary databases in a mkdtemp directory: schema and pragmas,
 * every read and write, batching as a second connection sees it, migration from a hand-made
 * version 1 file, refusal of a file from the future, abandoned runs, backup, pruning, error
 * mapping, and a kill -9 of a writer at a random moment that must lose no committed run. A second
 * sqlite3 handle opened here checks what is really on disk. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-registry-XXXXXX";

static const char *tmp_path(const char *name) {
        static char buf[4][256];
        static unsigned i;
        char *p = buf[i++ % ELEMENTSOF(buf)];

        snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
        return p;
}

static sqlite3 *raw_open(const char *path) {
        sqlite3 *db = NULL;

        ASSERT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
        return db;
}

static void raw_exec(sqlite3 *db, const char *sql) {
        char *err = NULL;

        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
                fprintf(stderr, "SQL failed: %s: %s\n", sql, err);
                abort();
        }
}

static int64_t raw_int(sqlite3 *db, const char *sql) {
        sqlite3_stmt *s = NULL;
        int64_t v;

        ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
        v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
}

/* First column of the first row as a string in buf ("" for NULL). */
static const char *raw_text(sqlite3 *db, const char *sql, char *buf, size_t size) {
        sqlite3_stmt *s = NULL;
        const unsigned char *t;

        ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
        t = sqlite3_column_text(s, 0);
        snprintf(buf, size, "%s", t ? (const char *) t : "");
        sqlite3_finalize(s);
        return buf;
}

static Registry *open_ok(const char *path, usec_t now, unsigned *ret_n) {
        Registry *r = NULL;
        unsigned n = 12345;
        int k;

        k = registry_open(path, now, &r, &n);
        if (k < 0) {
                fprintf(stderr, "registry_open(%s): %s\n", path, strerror(-k));
                abort();
        }
        ASSERT_TRUE(r);
        ASSERT_TRUE(n != 12345);
        if (ret_n)
                *ret_n = n;
        return r;
}

static void assert_integrity_ok(const char *path) {
        char buf[64];
        sqlite3 *db = raw_open(path);

        ASSERT_STREQ(raw_text(db, "PRAGMA integrity_check", buf, sizeof buf), "ok");
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
        sqlite3_close(db);
}

/* Collectors for the list callbacks. */
typedef struct Collected {
        unsigned n;
        int64_t id[64];
        usec_t ts[64], end[64];
        pid_t pid[64];
        int exit_code[64], exit_status[64];
        int64_t log_offset[64];
        char text[64][32]; /* job, action or status */
        char result[64][32];
} Collected;

static int collect_run(const RegistryRun *e, void *userdata) {
        Collected *c = userdata;

        ASSERT_TRUE(c->n < ELEMENTSOF(c->id));
        c->id[c->n] = e->id;
        c->ts[c->n] = e->start;
        c->end[c->n] = e->end;
        c->pid[c->n] = e->pid;
        c->exit_code[c->n] = e->exit_code;
        c->exit_status[c->n] = e->exit_status;
        c->log_offset[c->n] = e->log_offset;
        snprintf(c->text[c->n], sizeof c->text[0], "%s", e->job);
        snprintf(c->result[c->n], sizeof c->result[0], "%s", e->result ?: "");
        c->n++;
        return 0;
}

static int collect_audit(const RegistryAuditEntry *e, void *userdata) {
        Collected *c = userdata;

        ASSERT_TRUE(c->n < ELEMENTSOF(c->id));
        c->id[c->n] = e->id;
        c->ts[c->n] = e->ts;
        snprintf(c->text[c->n], sizeof c->text[0], "%s", e->action);
        snprintf(c->result[c->n], sizeof c->result[0], "%s", e->outcome);
        c->n++;
        return 0;
}

static int collect_heartbeat(const RegistryHeartbeat *h, void *userdata) {
        Collected *c = userdata;

        ASSERT_TRUE(c->n < ELEMENTSOF(c->id));
        c->id[c->n] = h->id;
        c->ts[c->n] = h->ts;
        snprintf(c->text[c->n], sizeof c->text[0], "%s", h->status ?: "");
        snprintf(c->result[c->n], sizeof c->result[0], "%s", h->source ?: "");
        c->n++;
        return 0;
}

static int stop_after_one(const RegistryAuditEntry *e, void *userdata) {
        unsigned *n = userdata;

        return ++*n >= 1 ? -ECANCELED : 0;
}

TEST(open_create) {
        const char *p = tmp_path("create.db");
        _cleanup_(registry_freep) Registry *r = NULL;
        char buf[32];
        unsigned n;
        sqlite3 *db;

        r = open_ok(p, 1000, &n);
        ASSERT_EQ(n, 0);
        ASSERT_OK(registry_commit(r)); /* nothing pending */

        db = raw_open(p);
        ASSERT_EQ(raw_int(db, "PRAGMA user_version"), REGISTRY_SCHEMA_VERSION);
        ASSERT_EQ(REGISTRY_SCHEMA_VERSION, 3);
        ASSERT_STREQ(raw_text(db, "PRAGMA journal_mode", buf, sizeof buf), "wal");
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
                              "('jobs', 'runs', 'audit', 'heartbeats', 'heartbeats_job')"), 5);
        sqlite3_close(db);

        /* The file is private. */
        struct stat st;
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);

        /* Reopening an up-to-date file changes nothing. */
        r = registry_free(r);
        r = open_ok(p, 2000, &n);
        ASSERT_EQ(n, 0);
}

TEST(enable_state) {
        const char *p = tmp_path("enable.db");
        _cleanup_(registry_freep) Registry *r = open_ok(p, 1, NULL);
        char buf[64];
        int e = 42;
        sqlite3 *db;

        ASSERT_OK(registry_job_get_enabled(r, "web", &e));
        ASSERT_EQ(e, -1);

        ASSERT_OK(registry_job_update(r, "web", "running", "success", 123, 0, 5000, "serving"));
        ASSERT_OK(registry_job_get_enabled(r, "web", &e));
        ASSERT_EQ(e, -1);

        ASSERT_OK(registry_job_set_enabled(r, "web", true));
        ASSERT_OK(registry_job_get_enabled(r, "web", &e));
        ASSERT_EQ(e, 1);

        /* The upsert keeps enabled and replaces the rest. */
        ASSERT_OK(registry_job_update(r, "web", "backoff", "exit-code", 0, 3, 6000, NULL));
        ASSERT_OK(registry_job_get_enabled(r, "web", &e));
        ASSERT_EQ(e, 1);

        ASSERT_OK(registry_job_set_enabled(r, "web", false));
        ASSERT_OK(registry_job_get_enabled(r, "web", &e));
        ASSERT_EQ(e, 0);

        /* Enabling a job never seen creates its row. */
        ASSERT_OK(registry_job_set_enabled(r, "new", true));
        ASSERT_OK(registry_job_get_enabled(r, "new", &e));
        ASSERT_EQ(e, 1);
        ASSERT_OK(registry_commit(r));

        db = raw_open(p);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM jobs"), 2);
        ASSERT_STREQ(raw_text(db, "SELECT state FROM jobs WHERE name = 'web'", buf, sizeof buf), "backoff");
        ASSERT_STREQ(raw_text(db, "SELECT result FROM jobs WHERE name = 'web'", buf, sizeof buf), "exit-code");
        ASSERT_EQ(raw_int(db, "SELECT restarts FROM jobs WHERE name = 'web'"), 3);
        ASSERT_EQ(raw_int(db, "SELECT since FROM jobs WHERE name = 'web'"), 6000);
        ASSERT_EQ(raw_int(db, "SELECT status_text IS NULL FROM jobs WHERE name = 'web'"), 1);
        /* updated is wall-clock µs: later than 2020-01-01. */
        ASSERT_TRUE(raw_int(db, "SELECT updated FROM jobs WHERE name = 'web'") > INT64_C(1577836800000000));
        sqlite3_close(db);

        ASSERT_OK(registry_job_delete(r, "web"));
        ASSERT_OK(registry_job_delete(r, "never-there"));
        ASSERT_OK(registry_job_get_enabled(r, "web", &e));
        ASSERT_EQ(e, -1);
}

TEST(runs) {
        _cleanup_(registry_freep) Registry *r = open_ok(tmp_path("runs.db"), 1, NULL);
        int64_t a1, a2, b1, a3;
        Collected c = {};

        ASSERT_OK(registry_run_begin(r, "a", 100, 1000, &a1));
        ASSERT_OK(registry_run_begin(r, "b", 200, 1100, &b1));
        ASSERT_OK(registry_run_end(r, a1, 1500, CLD_EXITED, 3, "exit-code"));
        ASSERT_OK(registry_run_begin(r, "a", 101, 2000, &a2));
        ASSERT_OK(registry_run_end(r, a2, 2500, CLD_KILLED, SIGTERM, "signal"));
        ASSERT_OK(registry_run_begin(r, "a", 102, 3000, &a3));
        ASSERT_TRUE(a1 < b1 && b1 < a2 && a2 < a3);

        ASSERT_EQ(registry_run_end(r, 999999, 1, 0, 0, "success"), -ENOENT);
        ASSERT_TRUE(strstr(registry_last_error(r), "999999"));

        ASSERT_EQ(registry_run_list(r, "a", 10, collect_run, &c), 3);
        ASSERT_EQ(c.n, 3);
        ASSERT_EQ(c.id[0], a1);
        ASSERT_EQ(c.pid[0], 100);
        ASSERT_EQ(c.ts[0], 1000);
        ASSERT_EQ(c.end[0], 1500);
        ASSERT_EQ(c.exit_code[0], CLD_EXITED);
        ASSERT_EQ(c.exit_status[0], 3);
        ASSERT_STREQ(c.result[0], "exit-code");
        ASSERT_STREQ(c.text[0], "a");
        ASSERT_EQ(c.exit_code[1], CLD_KILLED);
        ASSERT_EQ(c.exit_status[1], SIGTERM);
        ASSERT_EQ(c.id[2], a3);
        ASSERT_EQ(c.end[2], 0); /* still running */
        ASSERT_STREQ(c.result[2], "");

        /* Last two of all jobs, oldest first. */
        c = (Collected) {};
        ASSERT_EQ(registry_run_list(r, NULL, 2, collect_run, &c), 2);
        ASSERT_EQ(c.id[0], a2);
        ASSERT_EQ(c.id[1], a3);

        c = (Collected) {};
        ASSERT_EQ(registry_run_list(r, "b", 10, collect_run, &c), 1);
        ASSERT_EQ(c.id[0], b1);
        c = (Collected) {};
        ASSERT_EQ(registry_run_list(r, "nope", 10, collect_run, &c), 0);

        /* Where a run's output starts in the job's log: unknown until set, then what was set. */
        ASSERT_OK(registry_run_set_log_offset(r, a3, 4096));
        ASSERT_EQ(registry_run_set_log_offset(r, 999999, 1), -ENOENT);
        c = (Collected) {};
        ASSERT_EQ(registry_run_list(r, "a", 10, collect_run, &c), 3);
        ASSERT_EQ(c.log_offset[0], -1);
        ASSERT_EQ(c.log_offset[2], 4096);
        ASSERT_OK(registry_run_set_log_offset(r, a3, 0));
        c = (Collected) {};
        ASSERT_EQ(registry_run_list(r, "a", 1, collect_run, &c), 1);
        ASSERT_EQ(c.log_offset[0], 0);
}

TEST(audit) {
        _cleanup_(registry_freep) Registry *r = open_ok(tmp_path("audit.db"), 1, NULL);
        const char *actions[] = { "start", "stop", "enable", "disable", "restart" };
        Collected c = {};
        unsigned stopped = 0;

        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                ASSERT_OK(registry_audit(r, 100 + i, "uid:0", actions[i], i == 2 ? NULL : "web",
                                         i == 4 ? "Permission denied" : "ok"));
        ASSERT_OK(registry_commit(r));

        ASSERT_EQ(registry_audit_list(r, 3, collect_audit, &c), 3);
        ASSERT_STREQ(c.text[0], "enable");
        ASSERT_STREQ(c.text[1], "disable");
        ASSERT_STREQ(c.text[2], "restart");
        ASSERT_STREQ(c.result[2], "Permission denied");
        ASSERT_EQ(c.ts[0], 102);
        ASSERT_TRUE(c.id[0] < c.id[1] && c.id[1] < c.id[2]);

        c = (Collected) {};
        ASSERT_EQ(registry_audit_list(r, 100, collect_audit, &c), 5);
        ASSERT_STREQ(c.text[0], "start");

        c = (Collected) {};
        ASSERT_EQ(registry_audit_list(r, 0, collect_audit, &c), 0);

        /* A callback's error stops the walk and is returned; the statement is reusable after. */
        ASSERT_EQ(registry_audit_list(r, 5, stop_after_one, &stopped), -ECANCELED);
        ASSERT_EQ(stopped, 1);
        ASSERT_OK(registry_audit(r, 200, "pmd", "reload", NULL, "ok"));
        c = (Collected) {};
        ASSERT_EQ(registry_audit_list(r, 1, collect_audit, &c), 1);
        ASSERT_STREQ(c.text[0], "reload");
}

TEST(heartbeats) {
        const char *p = tmp_path("heartbeats.db");
        _cleanup_(registry_freep) Registry *r = open_ok(p, 1, NULL);
        Collected c = {};
        uint64_t count = 99;
        char status[32];
        sqlite3 *db;

        ASSERT_OK(registry_job_update(r, "web", "running", NULL, 10, 0, 1, NULL));
        for (unsigned i = 1; i <= 10; i++) {
                snprintf(status, sizeof status, "beat %u", i);
                ASSERT_OK(registry_heartbeat_add(r, "web", i * 1000, "http", status, 3));
        }
        /* A heartbeat for a job without a row yet. */
        ASSERT_OK(registry_heartbeat_add(r, "db", 7, "notify", NULL, 3));
        ASSERT_OK(registry_commit(r));

        ASSERT_EQ(registry_heartbeat_last(r, "web", 10, collect_heartbeat, &c), 3);
        ASSERT_EQ(c.ts[0], 8000);
        ASSERT_EQ(c.ts[2], 10000);
        ASSERT_STREQ(c.text[2], "beat 10");
        ASSERT_STREQ(c.result[2], "http");

        c = (Collected) {};
        ASSERT_EQ(registry_heartbeat_last(r, "web", 1, collect_heartbeat, &c), 1);
        ASSERT_EQ(c.ts[0], 10000);

        ASSERT_OK(registry_heartbeat_count(r, "web", &count));
        ASSERT_EQ(count, 10);
        ASSERT_OK(registry_heartbeat_count(r, "db", &count));
        ASSERT_EQ(count, 1);
        ASSERT_OK(registry_heartbeat_count(r, "unknown", &count));
        ASSERT_EQ(count, 0);

        db = raw_open(p);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM heartbeats"), 4);
        sqlite3_close(db);

        /* The job update keeps the counter; deleting the job takes its heartbeats along. */
        ASSERT_OK(registry_job_update(r, "web", "stopped", "success", 0, 0, 2, NULL));
        ASSERT_OK(registry_heartbeat_count(r, "web", &count));
        ASSERT_EQ(count, 10);
        ASSERT_OK(registry_job_delete(r, "web"));
        ASSERT_OK(registry_commit(r));
        c = (Collected) {};
        ASSERT_EQ(registry_heartbeat_last(r, "web", 10, collect_heartbeat, &c), 0);
        c = (Collected) {};
        ASSERT_EQ(registry_heartbeat_last(r, "db", 10, collect_heartbeat, &c), 1);
}

TEST(batch) {
        const char *p = tmp_path("batch.db");
        _cleanup_(registry_freep) Registry *r = open_ok(p, 1, NULL);
        sqlite3 *db = raw_open(p);
        int64_t id;
        int e;

        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM runs"), 0);

        for (int i = 0; i < 1000; i++) {
                char name[32];

                snprintf(name, sizeof name, "job%d", i % 100);
                ASSERT_OK(registry_job_update(r, name, "running", NULL, 1000 + i, 0, i, NULL));
                ASSERT_OK(registry_run_begin(r, name, 1000 + i, i, &id));
                ASSERT_OK(registry_audit(r, i, "pmd", "start", name, "ok"));
        }

        /* Reads on the writing connection see the batch ... */
        ASSERT_OK(registry_job_get_enabled(r, "job5", &e));
        ASSERT_EQ(e, -1);
        ASSERT_EQ(id, 1000);

        /* ... another connection does not, until the commit. */
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM runs"), 0);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM jobs"), 0);

        ASSERT_OK(registry_commit(r));
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM runs"), 1000);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM jobs"), 100);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM audit"), 1000);
        ASSERT_OK(registry_commit(r)); /* no-op */

        /* registry_free commits what is pending. */
        ASSERT_OK(registry_audit(r, 5000, "pmd", "stop", NULL, "ok"));
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM audit"), 1000);
        r = registry_free(r);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM audit"), 1001);

        /* While another connection holds the write lock, a write fails fast with -EBUSY. */
        r = open_ok(p, 1, NULL);
        raw_exec(db, "BEGIN IMMEDIATE");
        ASSERT_EQ(registry_audit(r, 1, "pmd", "x", NULL, "ok"), -EBUSY);
        ASSERT_TRUE(strlen(registry_last_error(r)) > 0);
        raw_exec(db, "ROLLBACK");
        ASSERT_OK(registry_audit(r, 1, "pmd", "x", NULL, "ok"));
        ASSERT_OK(registry_commit(r));

        sqlite3_close(db);
}

/* The version 1 schema as it was shipped, written here by hand so the test does not depend on the
 * code it checks. */
static const char v1_schema[] =
        "CREATE TABLE jobs (name TEXT PRIMARY KEY NOT NULL, enabled INTEGER CHECK (enabled IN (0, 1)),"
        "  state TEXT, result TEXT, pid INTEGER NOT NULL DEFAULT 0, restarts INTEGER NOT NULL DEFAULT 0,"
        "  since INTEGER NOT NULL DEFAULT 0, status_text TEXT, updated INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL,"
        "  pid INTEGER NOT NULL DEFAULT 0, start INTEGER NOT NULL, \"end\" INTEGER,"
        "  exit_code INTEGER NOT NULL DEFAULT 0, exit_status INTEGER NOT NULL DEFAULT 0, result TEXT);"
        "CREATE INDEX runs_job ON runs (job, id);"
        "CREATE INDEX runs_open ON runs (id) WHERE \"end\" IS NULL;"
        "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
        "  actor TEXT NOT NULL, action TEXT NOT NULL, job TEXT, outcome TEXT NOT NULL);"
        "PRAGMA user_version = 1;";

TEST(migrate_from_v1) {
        const char *p = tmp_path("v1.db");
        _cleanup_(registry_freep) Registry *r = NULL;
        Collected c = {};
        uint64_t count;
        unsigned n;
        int e;
        sqlite3 *db;

        db = raw_open(p);
        raw_exec(db, v1_schema);
        raw_exec(db, "INSERT INTO jobs (name, enabled, state)"
                     "  VALUES ('web', 1, 'running'), ('db', 0, 'stopped');"
                     "INSERT INTO runs (job, pid, start, \"end\", exit_code, exit_status, result)"
                     "  VALUES ('web', 42, 10, 20, 1, 0, 'success');"
                     "INSERT INTO runs (job, pid, start) VALUES ('web', 43, 30);"
                     "INSERT INTO audit (ts, actor, action, job, outcome)"
                     "  VALUES (5, 'uid:0', 'enable', 'web', 'ok');");
        ASSERT_EQ(raw_int(db, "PRAGMA user_version"), 1);
        sqlite3_close(db);

        r = open_ok(p, 777, &n);
        ASSERT_EQ(n, 1); /* run 43 was open */

        db = raw_open(p);
        ASSERT_EQ(raw_int(db, "PRAGMA user_version"), REGISTRY_SCHEMA_VERSION);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM sqlite_master "
                              "WHERE name IN ('heartbeats', 'heartbeats_job')"), 2);
        ASSERT_EQ(raw_int(db, "SELECT heartbeat_count FROM jobs WHERE name = 'web'"), 0);
        sqlite3_close(db);

        ASSERT_OK(registry_job_get_enabled(r, "web", &e));
        ASSERT_EQ(e, 1);
        ASSERT_OK(registry_job_get_enabled(r, "db", &e));
        ASSERT_EQ(e, 0);

        ASSERT_EQ(registry_run_list(r, "web", 10, collect_run, &c), 2);
        ASSERT_EQ(c.pid[0], 42);
        ASSERT_STREQ(c.result[0], "success");
        ASSERT_EQ(c.end[1], 777);
        ASSERT_STREQ(c.result[1], "abandoned");

        c = (Collected) {};
        ASSERT_EQ(registry_audit_list(r, 10, collect_audit, &c), 1);
        ASSERT_STREQ(c.text[0], "enable");

        /* The new table works on the migrated file. */
        ASSERT_OK(registry_heartbeat_add(r, "web", 1, "notify", "ok", 5));
        ASSERT_OK(registry_heartbeat_count(r, "web", &count));
        ASSERT_EQ(count, 1);
        /* And the v3 column: old runs have no log offset, new ones can have one. */
        c = (Collected) {};
        ASSERT_EQ(registry_run_list(r, "web", 10, collect_run, &c), 2);
        ASSERT_EQ(c.log_offset[0], -1);
        ASSERT_OK(registry_run_set_log_offset(r, c.id[1], 77));
        r = registry_free(r);
        assert_integrity_ok(p);
}

TEST(future_refused) {
        const char *p = tmp_path("future.db");
        Registry *r = NULL;
        char buf[32], wal[300];
        sqlite3 *db;

        db = raw_open(p);
        raw_exec(db, "CREATE TABLE jobs (name TEXT PRIMARY KEY, something_new BLOB);"
                     "PRAGMA user_version = 99;");
        sqlite3_close(db);

        ASSERT_EQ(registry_open(p, 1, &r, NULL), -EPROTO);
        ASSERT_TRUE(!r);

        /* Untouched: still version 99, still in rollback-journal mode, no WAL file. */
        db = raw_open(p);
        ASSERT_EQ(raw_int(db, "PRAGMA user_version"), 99);
        ASSERT_STREQ(raw_text(db, "PRAGMA journal_mode", buf, sizeof buf), "delete");
        sqlite3_close(db);
        snprintf(wal, sizeof wal, "%s-wal", p);
        ASSERT_EQ(access(wal, F_OK), -1);
}

TEST(open_errors) {
        const char *p = tmp_path("garbage.db");
        Registry *r = NULL;
        int fd;

        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        for (int i = 0; i < 64; i++)
                ASSERT_EQ(write(fd, "this is not an SQLite database!\n", 32), 32);
        close(fd);
        ASSERT_EQ(registry_open(p, 1, &r, NULL), -EBADMSG);
        ASSERT_TRUE(!r);

        ASSERT_EQ(registry_open(tmp_path("no/such/dir.db"), 1, &r, NULL), -ENOENT);
        ASSERT_TRUE(!r);
}

TEST(abandoned) {
        const char *p = tmp_path("abandoned.db");
        _cleanup_(registry_freep) Registry *r = open_ok(p, 1, NULL);
        Collected c = {};
        int64_t id1, id2, id3;
        unsigned n;

        ASSERT_OK(registry_run_begin(r, "a", 10, 100, &id1));
        ASSERT_OK(registry_run_begin(r, "b", 11, 100, &id2));
        ASSERT_OK(registry_run_begin(r, "c", 12, 100, &id3));
        ASSERT_OK(registry_run_end(r, id2, 200, CLD_EXITED, 0, "success"));
        r = registry_free(r);

        r = open_ok(p, 5000, &n);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(registry_run_list(r, NULL, 10, collect_run, &c), 3);
        ASSERT_EQ(c.end[0], 5000);
        ASSERT_STREQ(c.result[0], "abandoned");
        ASSERT_EQ(c.end[1], 200);
        ASSERT_STREQ(c.result[1], "success");
        ASSERT_EQ(c.end[2], 5000);
        ASSERT_STREQ(c.result[2], "abandoned");
        r = registry_free(r);

        /* Committed by registry_open itself. */
        r = open_ok(p, 6000, &n);
        ASSERT_EQ(n, 0);
}

TEST(backup) {
        const char *p = tmp_path("live.db"), *b = tmp_path("backup.db");
        _cleanup_(registry_freep) Registry *r = open_ok(p, 1, NULL);
        Registry *r2 = NULL;
        int64_t id;
        int e;
        sqlite3 *db;

        ASSERT_OK(registry_job_set_enabled(r, "web", true));
        for (int i = 0; i < 200; i++)
                ASSERT_OK(registry_run_begin(r, "web", 100 + i, i, &id));
        ASSERT_OK(registry_commit(r));
        ASSERT_OK(registry_audit(r, 1, "uid:0", "backup", NULL, "ok")); /* pending: committed by backup */

        ASSERT_OK(registry_backup(r, b));
        assert_integrity_ok(b);
        db = raw_open(b);
        ASSERT_EQ(raw_int(db, "PRAGMA user_version"), REGISTRY_SCHEMA_VERSION);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM runs"), 200);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM audit"), 1);
        ASSERT_EQ(raw_int(db, "SELECT enabled FROM jobs WHERE name = 'web'"), 1);
        sqlite3_close(db);

        /* Never overwrites, least of all the live file; the live registry keeps working. */
        ASSERT_EQ(registry_backup(r, b), -EEXIST);
        ASSERT_EQ(registry_backup(r, p), -EEXIST);
        ASSERT_EQ(registry_backup(r, tmp_path("no/such/dir.db")), -ENOENT);
        ASSERT_OK(registry_run_begin(r, "web", 1, 1, &id));
        ASSERT_OK(registry_commit(r));

        /* The copy opens as a registry (while the live one is still open) and has the 200 open
         * runs, which it closes as abandoned. */
        unsigned n;
        r2 = open_ok(b, 9, &n);
        ASSERT_EQ(n, 200);
        ASSERT_OK(registry_job_get_enabled(r2, "web", &e));
        ASSERT_EQ(e, 1);
        registry_free(r2);
}

TEST(prune) {
        const char *p = tmp_path("prune.db");
        _cleanup_(registry_freep) Registry *r = open_ok(p, 1, NULL);
        int64_t id, open_id;
        Collected c = {};
        sqlite3 *db;

        for (int i = 0; i < 5; i++) {
                ASSERT_OK(registry_run_begin(r, "a", i, i, &id));
                ASSERT_OK(registry_run_end(r, id, i + 1, CLD_EXITED, 0, "success"));
        }
        ASSERT_OK(registry_run_begin(r, "a", 99, 99, &open_id));
        for (int i = 0; i < 3; i++) {
                ASSERT_OK(registry_run_begin(r, "b", i, i, &id));
                ASSERT_OK(registry_run_end(r, id, i + 1, CLD_EXITED, 0, "success"));
        }
        for (int i = 0; i < 10; i++)
                ASSERT_OK(registry_audit(r, i, "pmd", "start", "a", "ok"));

        ASSERT_EQ(registry_prune(r, 2, 4), 3 + 1 + 6);
        ASSERT_OK(registry_commit(r));

        ASSERT_EQ(registry_run_list(r, "a", 10, collect_run, &c), 3);
        ASSERT_EQ(c.pid[0], 3);
        ASSERT_EQ(c.pid[1], 4);
        ASSERT_EQ(c.id[2], open_id);
        c = (Collected) {};
        ASSERT_EQ(registry_run_list(r, "b", 10, collect_run, &c), 2);
        c = (Collected) {};
        ASSERT_EQ(registry_audit_list(r, 100, collect_audit, &c), 4);
        ASSERT_EQ(c.ts[0], 6);

        /* Nothing left to prune. */
        ASSERT_EQ(registry_prune(r, 2, 4), 0);
        ASSERT_OK(registry_commit(r));

        db = raw_open(p);
        ASSERT_EQ(raw_int(db, "SELECT count(*) FROM runs"), 5);
        sqlite3_close(db);
}

/* The writer of the crash test: commits runs forever, reporting the sequence number (stored as
 * the run's pid) of the last one committed. */
_noreturn_ static void crash_child(const char *path, int fd) {
        Registry *r = NULL;
        int64_t id;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (registry_open(path, 1, &r, NULL) < 0)
                _exit(2);

        for (uint32_t seq = 1; seq < 1000000; seq++) {
                if (registry_run_begin(r, "crash", (pid_t) seq, seq, &id) < 0 ||
                    registry_run_end(r, id, seq + 1, CLD_EXITED, 0, "success") < 0 ||
                    registry_audit(r, seq, "pmd", "start", "crash", "ok") < 0 ||
                    registry_heartbeat_add(r, "crash", seq, "notify", "ok", 5) < 0)
                        _exit(3);
                if (registry_commit(r) < 0)
                        _exit(4);
                if (write(fd, &seq, sizeof seq) != sizeof seq)
                        _exit(5);
                /* Some uncommitted work is in flight whenever the kill may come. */
                if (registry_run_begin(r, "crash", 0, seq, &id) < 0)
                        _exit(6);
        }
        _exit(7);
}

TEST(crash) {
        const char *p = tmp_path("crash.db");
        unsigned seed = (unsigned) time(NULL) ^ (unsigned) getpid();

        fprintf(stderr, "    seed %u\n", seed);
        srand(seed);

        for (int round = 0; round < 5; round++) {
                uint32_t reported = 0, seq, target;
                int fds[2], status;
                char sql[256];
                ssize_t l;
                pid_t pid;
                sqlite3 *db;

                ASSERT_OK(pipe2(fds, O_CLOEXEC));
                pid = fork();
                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        close(fds[0]);
                        crash_child(p, fds[1]);
                }
                close(fds[1]);

                /* Let it commit a random number of times, then kill it at a random moment. */
                target = 5 + (uint32_t) rand() % 200;
                while (reported < target) {
                        l = read(fds[0], &seq, sizeof seq);
                        ASSERT_EQ(l, (ssize_t) sizeof seq);
                        reported = seq;
                }
                usleep((useconds_t) (rand() % 3000));
                ASSERT_OK(kill(pid, SIGKILL));
                ASSERT_EQ(waitpid(pid, &status, 0), pid);
                ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

                /* Whatever it reported before dying. */
                while ((l = read(fds[0], &seq, sizeof seq)) == (ssize_t) sizeof seq)
                        reported = seq;
                ASSERT_EQ(l, 0);
                close(fds[0]);

                assert_integrity_ok(p);
                db = raw_open(p);
                snprintf(sql, sizeof sql,
                         "SELECT count(DISTINCT pid) FROM runs "
                         "WHERE job = 'crash' AND pid BETWEEN 1 AND %" PRIu32
                         " AND \"end\" IS NOT NULL AND result = 'success'",
                         reported);
                ASSERT_EQ(raw_int(db, sql), reported);
                sqlite3_close(db);
                fprintf(stderr, "    round %d: killed after %" PRIu32 " commits, all present\n", round,
                        reported);

                /* Reopening closes the in-flight run, if it was committed, and the file is fine. */
                Registry *r = open_ok(p, 1, NULL);
                registry_free(r);
                assert_integrity_ok(p);

                /* Next round starts from an empty run table so sequence numbers stay unique. */
                db = raw_open(p);
                raw_exec(db, "DELETE FROM runs");
                sqlite3_close(db);
        }
}

static void rm_rf_tmpdir(void) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        ASSERT_OK(unlinkat(dirfd(d), de->d_name, 0));
        closedir(d);
        ASSERT_OK(rmdir(tmpdir));
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmpdir));

        RUN(open_create);
        RUN(enable_state);
        RUN(runs);
        RUN(audit);
        RUN(heartbeats);
        RUN(batch);
        RUN(migrate_from_v1);
        RUN(future_refused);
        RUN(open_errors);
        RUN(abandoned);
        RUN(backup);
        RUN(prune);
        RUN(crash);

        rm_rf_tmpdir();
        return 0;
}
