/* pmd.conf through inih: known keys of [Daemon], [Auth], [HTTP]; JobDir= lists; warnings with
 * PATH:LINE; a broken file changes nothing; a missing file is not an error. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-daemon.h"
#include "diag-recorder.h"
#include "strv.h"
#include "tests.h"

static Recorder rec;
static const Diag diag = { .func = recorder_func, .userdata = &rec };
static char tmpdir[] = "/tmp/test-conf-daemon.XXXXXX";

static const char *write_conf(const char *name, const char *text) {
        static char path[256];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        ASSERT_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
        ASSERT_EQ(fclose(f), 0);
        return path;
}

static DaemonConfig defaults(void) {
        DaemonConfig c = {};

        ASSERT_OK(strv_extend(&c.job_dirs, "/etc/pmd/jobs"));
        ASSERT_OK(strv_extend(&c.job_dirs, "/run/pmd/jobs"));
        c.state_dir = strdup("/var/lib/pmd");
        c.http = strdup("127.0.0.1:8610");
        ASSERT_TRUE(c.state_dir && c.http);
        return c;
}

TEST(full) {
        DaemonConfig c = defaults();
        const char *p = write_conf("pmd.conf",
                                   "# pmd.conf\n"
                                   "; also a comment\n"
                                   "[Daemon]\n"
                                   "JobDir=/a /b\n"
                                   "JobDir = /c\n"
                                   "StateDir=/srv/state\n"
                                   "LogDir=/srv/log\n"
                                   "Socket=/run/x/private\n"
                                   "Bus=none\n"
                                   "Http=off\n"
                                   "PluginDir=/usr/lib/pmd/plugins\n"
                                   "Bogus=1\n"
                                   "\n"
                                   "[Auth]\n"
                                   "KeyFile=/etc/pmd/key\n"
                                   "UsersFile=/etc/pmd/users\n"
                                   "JWKSFile=/etc/pmd/jwks.json\n"
                                   "AnonymousRole=viewer\n"
                                   "[HTTP]\n"
                                   "CertFile=/etc/pmd/cert.pem\n"
                                   "KeyFile=/etc/pmd/key.pem\n"
                                   "[Weird]\n"
                                   "X=1\n");

        recorder_reset(&rec);
        ASSERT_OK(daemon_config_load(p, &c, &diag));
        ASSERT_TRUE(c.job_dirs_set);
        ASSERT_EQ(strv_length(c.job_dirs), 3); /* the file's list replaced the defaults */
        ASSERT_STREQ(c.job_dirs[0], "/a");
        ASSERT_STREQ(c.job_dirs[2], "/c");
        ASSERT_STREQ(c.state_dir, "/srv/state");
        ASSERT_STREQ(c.log_dir, "/srv/log");
        ASSERT_STREQ(c.socket_path, "/run/x/private");
        ASSERT_STREQ(c.bus, "none");
        ASSERT_STREQ(c.http, "off");
        ASSERT_STREQ(c.plugin_dir, "/usr/lib/pmd/plugins");
        ASSERT_STREQ(c.auth_key_file, "/etc/pmd/key");
        ASSERT_STREQ(c.auth_users_file, "/etc/pmd/users");
        ASSERT_STREQ(c.auth_jwks_file, "/etc/pmd/jwks.json");
        ASSERT_STREQ(c.auth_anonymous_role, "viewer");
        ASSERT_STREQ(c.http_cert_file, "/etc/pmd/cert.pem");
        ASSERT_STREQ(c.http_key_file, "/etc/pmd/key.pem");

        ASSERT_EQ(rec.n_errors, 0);
        ASSERT_EQ(rec.n_warnings, 2);
        {
                char prefix[300];

                (void) snprintf(prefix, sizeof(prefix), "%s:12: ", p);
                ASSERT_TRUE(recorded(&rec, DIAG_WARNING, prefix, "Bogus"));
                (void) snprintf(prefix, sizeof(prefix), "%s:23: ", p);
                ASSERT_TRUE(recorded(&rec, DIAG_WARNING, prefix, "Weird"));
        }
        daemon_config_done(&c);
        ASSERT_TRUE(!c.job_dirs && !c.state_dir);
}

TEST(untouched_and_resets) {
        DaemonConfig c = defaults();
        const char *p;

        /* Keys the file does not name keep their value. */
        p = write_conf("a.conf", "[Daemon]\nBus=user\n");
        recorder_reset(&rec);
        ASSERT_OK(daemon_config_load(p, &c, &diag));
        ASSERT_TRUE(!c.job_dirs_set);
        ASSERT_EQ(strv_length(c.job_dirs), 2);
        ASSERT_STREQ(c.state_dir, "/var/lib/pmd");
        ASSERT_STREQ(c.bus, "user");
        ASSERT_EQ(rec.n, 0);

        /* An empty JobDir= resets the list; later lines add again. An empty value is "default". */
        p = write_conf("b.conf", "[Daemon]\nJobDir=/x\nJobDir=\nJobDir=/y\nStateDir=\n");
        ASSERT_OK(daemon_config_load(p, &c, &diag));
        ASSERT_EQ(strv_length(c.job_dirs), 1);
        ASSERT_STREQ(c.job_dirs[0], "/y");
        ASSERT_TRUE(c.state_dir == NULL);

        p = write_conf("c.conf", "[Daemon]\nJobDir=\n");
        ASSERT_OK(daemon_config_load(p, &c, &diag));
        ASSERT_TRUE(c.job_dirs_set);
        ASSERT_EQ(strv_length(c.job_dirs), 0);
        daemon_config_done(&c);
}

TEST(missing_and_broken) {
        DaemonConfig c = defaults();
        char path[256];
        const char *p;

        (void) snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
        recorder_reset(&rec);
        ASSERT_EQ(daemon_config_load(path, &c, &diag), 0);
        ASSERT_EQ(rec.n, 0);
        ASSERT_STREQ(c.state_dir, "/var/lib/pmd");

        /* A line that is not INI: an error with PATH:LINE, and nothing of the file is taken. */
        p = write_conf("broken.conf", "[Daemon]\nStateDir=/new\nthis is not a setting\nLogDir=/l\n");
        ASSERT_EQ(daemon_config_load(p, &c, &diag), -EINVAL);
        {
                char prefix[300];

                (void) snprintf(prefix, sizeof(prefix), "%s:3: ", p);
                ASSERT_TRUE(recorded(&rec, DIAG_ERROR, prefix, NULL));
        }
        ASSERT_STREQ(c.state_dir, "/var/lib/pmd");
        ASSERT_TRUE(c.log_dir == NULL);

        /* A directory. */
        recorder_reset(&rec);
        ASSERT_EQ(daemon_config_load(tmpdir, &c, &diag), -EISDIR);
        ASSERT_EQ(rec.n_errors, 1);
        daemon_config_done(&c);
}

TEST(long_lines_and_comments) {
        DaemonConfig c = {};
        char text[1024], *q = text, prefix[300];
        const char *p;

        q = stpcpy(q, "[Daemon]\nLogDir=/");
        memset(q, 'x', 400);
        q += 400;
        q = stpcpy(q, "\nStateDir=/s ; inih drops inline comments\nBus=system\r\nSocket=/sock");
        p = write_conf("long.conf", text);
        recorder_reset(&rec);
        ASSERT_OK(daemon_config_load(p, &c, &diag));
        (void) snprintf(prefix, sizeof(prefix), "%s:2: ", p);
        ASSERT_TRUE(recorded(&rec, DIAG_WARNING, prefix, "too long"));
        ASSERT_TRUE(c.log_dir == NULL); /* not a truncated path */
        ASSERT_STREQ(c.state_dir, "/s");
        ASSERT_STREQ(c.bus, "system");
        ASSERT_STREQ(c.socket_path, "/sock"); /* no trailing newline */
        daemon_config_done(&c);
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmpdir));
        RUN(full);
        RUN(untouched_and_resets);
        RUN(missing_and_broken);
        RUN(long_lines_and_comments);
        recorder_reset(&rec);
        {
                char cmd[300];

                (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
                ASSERT_EQ(system(cmd), 0);
        }
        return 0;
}
