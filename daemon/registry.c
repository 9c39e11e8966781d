/* The registry: pmd's only persistent state (SPEC §11), one SQLite file in WAL mode. This file is
 * the only place that speaks SQL; everything else sees the functions of registry.h.
 *
 * Durability: synchronous=FULL, so a COMMIT has reached the disk when registry_commit() returns;
 * kill -9 or power loss can lose the open batch, never a committed record, and never corrupt the
 * file. Latency: the daemon's loop must not block, so the busy timeout is a few ms (only pmd
 * writes; readers such as a backup never block a WAL writer) and all hot statements are prepared
 * once at open and reused. Batching: every write joins the transaction the first write of a loop
 * iteration opened (ensure_transaction); the manager ends it with registry_commit().
 *
 * The schema is versioned by PRAGMA user_version. migrations[i] takes a database from version i to
 * i + 1; opening an older file runs the missing steps in one transaction, a newer file is refused
 * untouched (-EPROTO), since an older pmd cannot know what a newer one expects of its data.
 *
 * No logging here: failures are negative errno, and registry_last_error() has the text. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "registry.h"

/* Longest wait for a lock held by another connection. Only pmd writes, so waiting at all means
 * a second pmd or a stray sqlite3 shell holds the write lock; fail fast instead of stalling. */
#define BUSY_TIMEOUT_MS 5

/* Bound on any one string or row: status texts and actors come from outside. */
#define VALUE_LENGTH_MAX (1024 * 1024)

/* After a checkpoint, truncate the -wal file back to this size, so it does not stay at its peak. */
#define WAL_SIZE_LIMIT_STR "4194304"

/* The current wall-clock time in µs, computed by SQLite so that this file reads no clocks. */
#define SQL_NOW_USEC "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"

typedef enum Stmt {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_JOB_UPDATE,
        STMT_JOB_DELETE,
        STMT_JOB_GET_ENABLED,
        STMT_JOB_SET_ENABLED,
        STMT_RUN_BEGIN,
        STMT_RUN_END,
        STMT_RUN_SET_LOG_OFFSET,
        STMT_RUN_LIST_JOB,
        STMT_RUN_LIST_ALL,
        STMT_RUNS_ABANDON,
        STMT_AUDIT_ADD,
        STMT_AUDIT_LIST,
        STMT_HEARTBEAT_COUNT_INC,
        STMT_HEARTBEAT_ADD,
        STMT_HEARTBEAT_TRIM,
        STMT_HEARTBEAT_LIST,
        STMT_HEARTBEAT_COUNT,
        STMT_PRUNE_RUNS,
        STMT_PRUNE_AUDIT,
        _STMT_MAX,
} Stmt;

static const char *const stmt_sql[_STMT_MAX] = {
        /* IMMEDIATE takes the write lock now, so a batch never fails half way for want of it. */
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",

        /* An UPSERT that leaves enabled (set only by pmctl enable/disable) as it is. */
        [STMT_JOB_UPDATE] =
                "INSERT INTO jobs (name, state, result, pid, restarts, since, status_text, updated) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " SQL_NOW_USEC ") "
                "ON CONFLICT (name) DO UPDATE SET state = excluded.state, result = excluded.result, "
                "pid = excluded.pid, restarts = excluded.restarts, since = excluded.since, "
                "status_text = excluded.status_text, updated = excluded.updated",
        [STMT_JOB_DELETE] = "DELETE FROM jobs WHERE name = ?1",
        [STMT_JOB_GET_ENABLED] = "SELECT enabled FROM jobs WHERE name = ?1",
        [STMT_JOB_SET_ENABLED] =
                "INSERT INTO jobs (name, enabled, updated) VALUES (?1, ?2, " SQL_NOW_USEC ") "
                "ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated = excluded.updated",

        [STMT_RUN_BEGIN] = "INSERT INTO runs (job, pid, start) VALUES (?1, ?2, ?3)",
        [STMT_RUN_END] = "UPDATE runs SET \"end\" = ?2, exit_code = ?3, exit_status = ?4, result = ?5 "
                         "WHERE id = ?1",
        [STMT_RUN_SET_LOG_OFFSET] = "UPDATE runs SET log_offset = ?2 WHERE id = ?1",
        [STMT_RUN_LIST_JOB] =
                "SELECT id, job, pid, start, \"end\", exit_code, exit_status, result, log_offset FROM "
                "(SELECT * FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
        [STMT_RUN_LIST_ALL] =
                "SELECT id, job, pid, start, \"end\", exit_code, exit_status, result, log_offset FROM "
                "(SELECT * FROM runs ORDER BY id DESC LIMIT ?1) ORDER BY id",
        [STMT_RUNS_ABANDON] = "UPDATE runs SET \"end\" = ?1, result = 'abandoned' WHERE \"end\" IS NULL",

        [STMT_AUDIT_ADD] = "INSERT INTO audit (ts, actor, action, job, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_AUDIT_LIST] = "SELECT id, ts, actor, action, job, outcome FROM "
                            "(SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id",

        /* The counter lives in the job row, which the heartbeat rows reference; create the row if
         * a heartbeat comes first. */
        [STMT_HEARTBEAT_COUNT_INC] =
                "INSERT INTO jobs (name, heartbeat_count, updated) VALUES (?1, 1, " SQL_NOW_USEC ") "
                "ON CONFLICT (name) DO UPDATE SET heartbeat_count = heartbeat_count + 1",
        [STMT_HEARTBEAT_ADD] = "INSERT INTO heartbeats (job, ts, source, status) VALUES (?1, ?2, ?3, ?4)",
        [STMT_HEARTBEAT_TRIM] =
                "DELETE FROM heartbeats WHERE job = ?1 AND id <= "
                "(SELECT id FROM heartbeats WHERE job = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        [STMT_HEARTBEAT_LIST] =
                "SELECT id, job, ts, source, status FROM "
                "(SELECT * FROM heartbeats WHERE job = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
        [STMT_HEARTBEAT_COUNT] = "SELECT heartbeat_count FROM jobs WHERE name = ?1",

        /* Runs still open are never pruned: the manager holds their ids. */
        [STMT_PRUNE_RUNS] =
                "DELETE FROM runs WHERE id IN (SELECT id FROM "
                "(SELECT id, row_number() OVER (PARTITION BY job ORDER BY id DESC) AS n "
                "FROM runs WHERE \"end\" IS NOT NULL) WHERE n > ?1)",
        [STMT_PRUNE_AUDIT] =
                "DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?1)",
};

struct Registry {
        sqlite3 *db;
        sqlite3_stmt *stmts[_STMT_MAX];
        /* A copy of the message of the last failure: a ROLLBACK after it would overwrite
         * sqlite3_errmsg(). */
        char error[256];
};

static int errno_from_sqlite(sqlite3 *db, int rc) {
        switch (rc & 0xff) { /* primary code of an extended one */
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_CANTOPEN:
                return db && sqlite3_system_errno(db) == ENOENT ? -ENOENT : -EACCES;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_TOOBIG:
                return -E2BIG;
        default:
                return -EIO;
        }
}

static int set_error_msg(Registry *r, int err, const char *fmt, ...) _printf_(3, 4);
static int set_error_msg(Registry *r, int err, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(r->error, sizeof r->error, fmt, ap);
        va_end(ap);
        return err;
}

/* Records the failure of an operation on db (r->db, or a backup's destination). */
static int set_error_db(Registry *r, sqlite3 *db, int rc) {
        return set_error_msg(r, errno_from_sqlite(db, rc), "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int set_error(Registry *r, int rc) {
        return set_error_db(r, r->db, rc);
}

const char *registry_last_error(Registry *r) {
        if (!r)
                return "no registry";
        return r->error[0] ? r->error : "no error";
}

/* Statements are reset and their bindings cleared when the function using them returns, so no
 * SELECT keeps a read transaction (which would hold back WAL checkpoints) and no bound string
 * (bound SQLITE_STATIC, not copied) is referenced after its owner is gone. */
static void stmt_resetp(sqlite3_stmt **s) {
        if (*s) {
                (void) sqlite3_reset(*s);
                (void) sqlite3_clear_bindings(*s);
        }
}
#define _cleanup_stmt_ _cleanup_(stmt_resetp)

static void stmt_finalizep(sqlite3_stmt **s) {
        (void) sqlite3_finalize(*s); /* takes NULL */
}

static sqlite3_stmt *stmt_get(Registry *r, Stmt i) {
        assert(r);
        assert(i >= 0 && i < _STMT_MAX);
        assert(r->stmts[i]);
        /* A list callback calling back into the same list would reset the statement it iterates. */
        assert(!sqlite3_stmt_busy(r->stmts[i]));
        return r->stmts[i];
}

static int bind_text(sqlite3_stmt *s, int i, const char *v) {
        return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static int bind_usec(sqlite3_stmt *s, int i, usec_t v) {
        /* SQLite integers are signed 64 bit; USEC_INFINITY round-trips as -1. */
        return sqlite3_bind_int64(s, i, (sqlite3_int64) v);
}

static const char *column_text(sqlite3_stmt *s, int i) {
        return (const char *) sqlite3_column_text(s, i);
}

/* Steps a statement that returns no rows. */
static int step_done(Registry *r, sqlite3_stmt *s) {
        int rc = sqlite3_step(s);

        if (rc != SQLITE_DONE)
                return set_error(r, rc);
        return 0;
}

static int exec_sql(Registry *r, const char *sql) {
        int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK)
                return set_error(r, rc);
        return 0;
}

/* Every write goes through here: open the batch transaction unless one is open already. The
 * connection's autocommit flag is the truth, also after SQLite rolled back on its own (I/O error,
 * disk full). */
static int ensure_transaction(Registry *r) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;

        if (!sqlite3_get_autocommit(r->db))
                return 0;
        s = stmt_get(r, STMT_BEGIN);
        return step_done(r, s);
}

static void rollback(Registry *r) {
        if (sqlite3_get_autocommit(r->db))
                return;
        if (r->stmts[STMT_ROLLBACK]) {
                _cleanup_stmt_ sqlite3_stmt *s = stmt_get(r, STMT_ROLLBACK);
                (void) sqlite3_step(s);
        } else
                (void) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

int registry_commit(Registry *r) {
        int rc, err;

        assert(r);

        if (sqlite3_get_autocommit(r->db))
                return 0;

        {
                _cleanup_stmt_ sqlite3_stmt *s = stmt_get(r, STMT_COMMIT);
                rc = sqlite3_step(s);
        }
        if (rc == SQLITE_DONE)
                return 0;

        err = set_error(r, rc);
        /* After SQLITE_BUSY the transaction is still open and a later commit may succeed; after
         * anything else the batch is lost, and leaving a broken transaction open would make every
         * later write fail too. */
        if ((rc & 0xff) != SQLITE_BUSY)
                rollback(r);
        return err;
}

static int user_version_get(Registry *r, int *ret) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &s, NULL);
        if (rc != SQLITE_OK)
                return set_error(r, rc);
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return set_error(r, rc);
        *ret = sqlite3_column_int(s, 0);
        return 0;
}

/* Version 1: jobs, runs, audit. Column "end" is quoted everywhere: END is an SQL keyword. */
static int migrate_to_v1(Registry *r) {
        return exec_sql(r,
                "CREATE TABLE jobs ("
                "  name TEXT PRIMARY KEY NOT NULL,"
                "  enabled INTEGER CHECK (enabled IN (0, 1))," /* NULL: never enabled nor disabled */
                "  state TEXT,"
                "  result TEXT,"
                "  pid INTEGER NOT NULL DEFAULT 0,"
                "  restarts INTEGER NOT NULL DEFAULT 0,"
                "  since INTEGER NOT NULL DEFAULT 0,"
                "  status_text TEXT,"
                "  updated INTEGER NOT NULL DEFAULT 0"
                ");"
                /* No foreign key to jobs: the history outlives a removed job file. */
                "CREATE TABLE runs ("
                "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                "  job TEXT NOT NULL,"
                "  pid INTEGER NOT NULL DEFAULT 0,"
                "  start INTEGER NOT NULL,"
                "  \"end\" INTEGER," /* NULL while running */
                "  exit_code INTEGER NOT NULL DEFAULT 0,"
                "  exit_status INTEGER NOT NULL DEFAULT 0,"
                "  result TEXT"
                ");"
                "CREATE INDEX runs_job ON runs (job, id);"
                "CREATE INDEX runs_open ON runs (id) WHERE \"end\" IS NULL;"
                "CREATE TABLE audit ("
                "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                "  ts INTEGER NOT NULL,"
                "  actor TEXT NOT NULL,"
                "  action TEXT NOT NULL,"
                "  job TEXT,"
                "  outcome TEXT NOT NULL"
                ");");
}

/* Version 2: heartbeat history (bounded per job by registry_heartbeat_add) and a per-job counter.
 * Heartbeats belong to the job row and go with it. A later step that rebuilds a table must keep
 * in mind that foreign_keys=ON cannot be switched off inside the migration transaction (use
 * PRAGMA defer_foreign_keys). */
static int migrate_to_v2(Registry *r) {
        return exec_sql(r,
                "ALTER TABLE jobs ADD COLUMN heartbeat_count INTEGER NOT NULL DEFAULT 0;"
                "CREATE TABLE heartbeats ("
                "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                "  job TEXT NOT NULL REFERENCES jobs (name) ON DELETE CASCADE,"
                "  ts INTEGER NOT NULL,"
                "  source TEXT,"
                "  status TEXT"
                ");"
                "CREATE INDEX heartbeats_job ON heartbeats (job, id);");
}

/* Version 3: where each run's output starts in the job's log file, so that `pmctl status` shows
 * the lines of the current run. NULL for runs recorded before. */
static int migrate_to_v3(Registry *r) {
        return exec_sql(r, "ALTER TABLE runs ADD COLUMN log_offset INTEGER;");
}

static int (*const migrations[])(Registry *r) = {
        migrate_to_v1,
        migrate_to_v2,
        migrate_to_v3,
};
_Static_assert(ELEMENTSOF(migrations) == REGISTRY_SCHEMA_VERSION, "one migration per schema version");

static int refuse_newer(Registry *r, int v) {
        return set_error_msg(r, -EPROTO, "registry schema version %d is newer than this pmd knows (%d)", v,
                             REGISTRY_SCHEMA_VERSION);
}

static int migrate(Registry *r) {
        char sql[64];
        int v, k;

        k = exec_sql(r, "BEGIN IMMEDIATE");
        if (k < 0)
                return k;

        /* Read again under the write lock: another process may have migrated meanwhile. */
        k = user_version_get(r, &v);
        if (k < 0)
                goto fail;
        if (v > REGISTRY_SCHEMA_VERSION) {
                k = refuse_newer(r, v);
                goto fail;
        }

        for (int i = MAX(v, 0); i < REGISTRY_SCHEMA_VERSION; i++) {
                k = migrations[i](r);
                if (k < 0)
                        goto fail;
        }

        (void) snprintf(sql, sizeof sql, "PRAGMA user_version = %d", REGISTRY_SCHEMA_VERSION);
        k = exec_sql(r, sql);
        if (k < 0)
                goto fail;

        k = exec_sql(r, "COMMIT");
        if (k < 0)
                goto fail;
        return 0;

fail:
        rollback(r);
        return k;
}

static int pragma_text(Registry *r, const char *sql, const char *want) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *s = NULL;
        const char *got;
        int rc;

        rc = sqlite3_prepare_v2(r->db, sql, -1, &s, NULL);
        if (rc != SQLITE_OK)
                return set_error(r, rc);
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return set_error(r, rc);
        got = column_text(s, 0);
        if (!got || strcasecmp(got, want) != 0)
                return set_error_msg(r, -EOPNOTSUPP, "'%s' gave '%s', not '%s'", sql, got ?: "(null)", want);
        return 0;
}

static int setup_connection(Registry *r) {
        int k;

        /* WAL: readers (a backup, a debugging shell) never block the writer, and a commit is one
         * append + fsync. Refuse to run without it (e.g. no shared memory on this file system). */
        k = pragma_text(r, "PRAGMA journal_mode = WAL", "wal");
        if (k < 0)
                return k;

        /* FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss. */
        k = exec_sql(r,
                     "PRAGMA synchronous = FULL;"
                     "PRAGMA foreign_keys = ON;"
                     "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT_STR ";");
        return k;
}

static int prepare_statements(Registry *r) {
        for (Stmt i = 0; i < _STMT_MAX; i++) {
                int rc;

                assert(stmt_sql[i]);
                rc = sqlite3_prepare_v3(r->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->stmts[i], NULL);
                if (rc != SQLITE_OK)
                        return set_error(r, rc);
        }
        return 0;
}

static int close_abandoned_runs(Registry *r, usec_t now, unsigned *ret) {
        int k;

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        {
                _cleanup_stmt_ sqlite3_stmt *s = stmt_get(r, STMT_RUNS_ABANDON);
                int rc = bind_usec(s, 1, now);
                if (rc != SQLITE_OK)
                        return set_error(r, rc);
                k = step_done(r, s);
                if (k < 0)
                        return k;
        }

        *ret = (unsigned) sqlite3_changes(r->db);
        return registry_commit(r);
}

int registry_open(const char *path, usec_t now_realtime, Registry **ret, unsigned *ret_n_abandoned) {
        _cleanup_(registry_freep) Registry *r = NULL;
        unsigned n_abandoned = 0;
        int fd, rc, k, v;

        assert(path);
        assert(ret);

        /* Create the file ourselves: SQLite would use 0644, and the audit log is nobody else's
         * business (the -wal and -shm files copy this mode). */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        safe_close(fd);

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;

        /* SQLite opens its files O_CLOEXEC, so forked children do not inherit them. No mutexes:
         * the connection is used by one thread. */
        rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                if (!r->db)
                        return -ENOMEM;
                return set_error(r, rc);
        }

        (void) sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
        (void) sqlite3_limit(r->db, SQLITE_LIMIT_LENGTH, VALUE_LENGTH_MAX);

        /* Before changing anything (journal mode included): a file from a newer pmd stays as it is. */
        k = user_version_get(r, &v);
        if (k < 0)
                return k;
        if (v > REGISTRY_SCHEMA_VERSION)
                return refuse_newer(r, v);

        k = setup_connection(r);
        if (k < 0)
                return k;

        if (v < REGISTRY_SCHEMA_VERSION) {
                k = migrate(r);
                if (k < 0)
                        return k;
        }

        k = prepare_statements(r);
        if (k < 0)
                return k;

        if (now_realtime != USEC_INFINITY) {
                k = close_abandoned_runs(r, now_realtime, &n_abandoned);
                if (k < 0)
                        return k;
        }

        if (ret_n_abandoned)
                *ret_n_abandoned = n_abandoned;
        *ret = TAKE_PTR(r);
        return 0;
}

Registry *registry_free(Registry *r) {
        if (!r)
                return NULL;

        if (r->db) {
                /* Statements are missing only when registry_open failed, with nothing pending. */
                if (r->stmts[STMT_COMMIT])
                        (void) registry_commit(r);
                rollback(r); /* if the commit failed with the transaction still open */

                for (Stmt i = 0; i < _STMT_MAX; i++)
                        (void) sqlite3_finalize(r->stmts[i]);
                /* The last connection to close checkpoints the WAL into the main file. */
                (void) sqlite3_close_v2(r->db);
        }

        free(r);
        return NULL;
}

int registry_job_update(Registry *r, const char *name, const char *state, const char *result, pid_t pid,
                        unsigned restarts, usec_t since_realtime, const char *status_text) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        assert(r);
        assert(name);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        s = stmt_get(r, STMT_JOB_UPDATE);
        rc = bind_text(s, 1, name);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 2, state);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 3, result);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 4, pid);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 5, restarts);
        if (rc == SQLITE_OK)
                rc = bind_usec(s, 6, since_realtime);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 7, status_text);
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        return step_done(r, s);
}

int registry_job_delete(Registry *r, const char *name) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        assert(r);
        assert(name);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        s = stmt_get(r, STMT_JOB_DELETE);
        rc = bind_text(s, 1, name);
        if (rc != SQLITE_OK)
                return set_error(r, rc);
        return step_done(r, s);
}

int registry_job_get_enabled(Registry *r, const char *name, int *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, enabled;

        assert(r);
        assert(name);
        assert(ret);

        s = stmt_get(r, STMT_JOB_GET_ENABLED);
        rc = bind_text(s, 1, name);
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                enabled = -1;
        else if (rc == SQLITE_ROW)
                enabled = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : !!sqlite3_column_int(s, 0);
        else
                return set_error(r, rc);

        *ret = enabled;
        return 0;
}

int registry_job_set_enabled(Registry *r, const char *name, bool enabled) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        assert(r);
        assert(name);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        s = stmt_get(r, STMT_JOB_SET_ENABLED);
        rc = bind_text(s, 1, name);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 2, enabled);
        if (rc != SQLITE_OK)
                return set_error(r, rc);
        return step_done(r, s);
}

int registry_run_begin(Registry *r, const char *name, pid_t pid, usec_t start_realtime, int64_t *ret_id) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        assert(r);
        assert(name);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        s = stmt_get(r, STMT_RUN_BEGIN);
        rc = bind_text(s, 1, name);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, pid);
        if (rc == SQLITE_OK)
                rc = bind_usec(s, 3, start_realtime);
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        k = step_done(r, s);
        if (k < 0)
                return k;

        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(r->db);
        return 0;
}

int registry_run_end(Registry *r, int64_t id, usec_t end_realtime, int exit_code, int exit_status,
                     const char *result) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        assert(r);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        s = stmt_get(r, STMT_RUN_END);
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = bind_usec(s, 2, end_realtime);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 3, exit_code);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int(s, 4, exit_status);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 5, result);
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        k = step_done(r, s);
        if (k < 0)
                return k;
        if (sqlite3_changes(r->db) == 0)
                return set_error_msg(r, -ENOENT, "no run with id %" PRIi64, id);
        return 0;
}

int registry_run_set_log_offset(Registry *r, int64_t id, uint64_t offset) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        assert(r);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        s = stmt_get(r, STMT_RUN_SET_LOG_OFFSET);
        rc = sqlite3_bind_int64(s, 1, id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, (sqlite3_int64) MIN(offset, (uint64_t) INT64_MAX));
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        k = step_done(r, s);
        if (k < 0)
                return k;
        if (sqlite3_changes(r->db) == 0)
                return set_error_msg(r, -ENOENT, "no run with id %" PRIi64, id);
        return 0;
}

int registry_run_list(Registry *r, const char *job, unsigned n,
                      int (*cb)(const RegistryRun *e, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, count = 0;

        assert(r);
        assert(cb);

        if (job) {
                s = stmt_get(r, STMT_RUN_LIST_JOB);
                rc = bind_text(s, 1, job);
                if (rc == SQLITE_OK)
                        rc = sqlite3_bind_int64(s, 2, n);
        } else {
                s = stmt_get(r, STMT_RUN_LIST_ALL);
                rc = sqlite3_bind_int64(s, 1, n);
        }
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                RegistryRun e = {
                        .id = sqlite3_column_int64(s, 0),
                        .job = column_text(s, 1),
                        .pid = (pid_t) sqlite3_column_int64(s, 2),
                        .start = (usec_t) sqlite3_column_int64(s, 3),
                        .end = (usec_t) sqlite3_column_int64(s, 4), /* NULL reads as 0 */
                        .exit_code = sqlite3_column_int(s, 5),
                        .exit_status = sqlite3_column_int(s, 6),
                        .result = column_text(s, 7),
                        .log_offset = sqlite3_column_type(s, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 8),
                };
                int k = cb(&e, userdata);
                if (k < 0)
                        return k;
                count++;
        }
        if (rc != SQLITE_DONE)
                return set_error(r, rc);
        return count;
}

int registry_audit(Registry *r, usec_t ts_realtime, const char *actor, const char *action, const char *job,
                   const char *outcome) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, k;

        assert(r);
        assert(actor);
        assert(action);
        assert(outcome);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        s = stmt_get(r, STMT_AUDIT_ADD);
        rc = bind_usec(s, 1, ts_realtime);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 2, actor);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 3, action);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 4, job);
        if (rc == SQLITE_OK)
                rc = bind_text(s, 5, outcome);
        if (rc != SQLITE_OK)
                return set_error(r, rc);
        return step_done(r, s);
}

int registry_audit_list(Registry *r, unsigned n,
                        int (*cb)(const RegistryAuditEntry *e, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, count = 0;

        assert(r);
        assert(cb);

        s = stmt_get(r, STMT_AUDIT_LIST);
        rc = sqlite3_bind_int64(s, 1, n);
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                RegistryAuditEntry e = {
                        .id = sqlite3_column_int64(s, 0),
                        .ts = (usec_t) sqlite3_column_int64(s, 1),
                        .actor = column_text(s, 2),
                        .action = column_text(s, 3),
                        .job = column_text(s, 4),
                        .outcome = column_text(s, 5),
                };
                int k = cb(&e, userdata);
                if (k < 0)
                        return k;
                count++;
        }
        if (rc != SQLITE_DONE)
                return set_error(r, rc);
        return count;
}

static int step_job_stmt(Registry *r, Stmt i, const char *job, bool with_int, int64_t value) {
        _cleanup_stmt_ sqlite3_stmt *s = stmt_get(r, i);
        int rc;

        rc = bind_text(s, 1, job);
        if (rc == SQLITE_OK && with_int)
                rc = sqlite3_bind_int64(s, 2, value);
        if (rc != SQLITE_OK)
                return set_error(r, rc);
        return step_done(r, s);
}

int registry_heartbeat_add(Registry *r, const char *job, usec_t ts_realtime, const char *source,
                           const char *status, unsigned keep_last) {
        int rc, k;

        assert(r);
        assert(job);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        /* The job row first: the heartbeat row references it. */
        k = step_job_stmt(r, STMT_HEARTBEAT_COUNT_INC, job, false, 0);
        if (k < 0)
                return k;

        {
                _cleanup_stmt_ sqlite3_stmt *s = stmt_get(r, STMT_HEARTBEAT_ADD);
                rc = bind_text(s, 1, job);
                if (rc == SQLITE_OK)
                        rc = bind_usec(s, 2, ts_realtime);
                if (rc == SQLITE_OK)
                        rc = bind_text(s, 3, source);
                if (rc == SQLITE_OK)
                        rc = bind_text(s, 4, status);
                if (rc != SQLITE_OK)
                        return set_error(r, rc);
                k = step_done(r, s);
                if (k < 0)
                        return k;
        }

        return step_job_stmt(r, STMT_HEARTBEAT_TRIM, job, true, keep_last);
}

int registry_heartbeat_last(Registry *r, const char *job, unsigned n,
                            int (*cb)(const RegistryHeartbeat *h, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int rc, count = 0;

        assert(r);
        assert(job);
        assert(cb);

        s = stmt_get(r, STMT_HEARTBEAT_LIST);
        rc = bind_text(s, 1, job);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, n);
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                RegistryHeartbeat h = {
                        .id = sqlite3_column_int64(s, 0),
                        .job = column_text(s, 1),
                        .ts = (usec_t) sqlite3_column_int64(s, 2),
                        .source = column_text(s, 3),
                        .status = column_text(s, 4),
                };
                int k = cb(&h, userdata);
                if (k < 0)
                        return k;
                count++;
        }
        if (rc != SQLITE_DONE)
                return set_error(r, rc);
        return count;
}

int registry_heartbeat_count(Registry *r, const char *job, uint64_t *ret) {
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        uint64_t count = 0;
        int rc;

        assert(r);
        assert(job);
        assert(ret);

        s = stmt_get(r, STMT_HEARTBEAT_COUNT);
        rc = bind_text(s, 1, job);
        if (rc != SQLITE_OK)
                return set_error(r, rc);

        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                count = (uint64_t) sqlite3_column_int64(s, 0);
        else if (rc != SQLITE_DONE)
                return set_error(r, rc);

        *ret = count;
        return 0;
}

int registry_prune(Registry *r, unsigned keep_runs_per_job, unsigned keep_audit) {
        int k, n;

        assert(r);

        k = ensure_transaction(r);
        if (k < 0)
                return k;

        {
                _cleanup_stmt_ sqlite3_stmt *s = stmt_get(r, STMT_PRUNE_RUNS);
                int rc = sqlite3_bind_int64(s, 1, keep_runs_per_job);
                if (rc != SQLITE_OK)
                        return set_error(r, rc);
                k = step_done(r, s);
                if (k < 0)
                        return k;
                n = sqlite3_changes(r->db);
        }

        {
                _cleanup_stmt_ sqlite3_stmt *s = stmt_get(r, STMT_PRUNE_AUDIT);
                int rc = sqlite3_bind_int64(s, 1, keep_audit);
                if (rc != SQLITE_OK)
                        return set_error(r, rc);
                k = step_done(r, s);
                if (k < 0)
                        return k;
                n += sqlite3_changes(r->db);
        }

        return n;
}

static void sqlite3_closep(sqlite3 **db) {
        (void) sqlite3_close_v2(*db); /* takes NULL */
}

/* The destination must not exist: the file is created O_EXCL, so a mistyped path can never
 * clobber anything — least of all the live registry itself. On failure the partial copy is
 * removed. */
int registry_backup(Registry *r, const char *path) {
        int fd, rc, k;

        assert(r);
        assert(path);

        /* Copy what is committed; the open batch would otherwise be copied half done. */
        k = registry_commit(r);
        if (k < 0)
                return k;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return set_error_msg(r, -errno, "cannot create '%s': %s", path, strerror(errno));
        safe_close(fd);

        {
                _cleanup_(sqlite3_closep) sqlite3 *dest = NULL;
                sqlite3_backup *b;

                rc = sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
                if (rc != SQLITE_OK) {
                        k = dest ? set_error_db(r, dest, rc) : -ENOMEM;
                        goto fail;
                }

                b = sqlite3_backup_init(dest, "main", r->db, "main");
                if (!b) {
                        k = set_error_db(r, dest, sqlite3_errcode(dest));
                        goto fail;
                }

                /* All pages in one step: the source is our own connection, nobody else writes. */
                rc = sqlite3_backup_step(b, -1);
                (void) sqlite3_backup_finish(b);
                if (rc != SQLITE_DONE) {
                        k = set_error_db(r, dest, rc);
                        goto fail;
                }

                rc = sqlite3_close_v2(TAKE_PTR(dest));
                if (rc != SQLITE_OK) {
                        k = set_error_msg(r, -EIO, "closing '%s': %s", path, sqlite3_errstr(rc));
                        goto fail;
                }
        }
        return 0;

fail:
        (void) unlink(path);
        return k;
}
