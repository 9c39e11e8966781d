/* Exec line quoting and prefixes, $VAR expansion and EnvironmentFile= reading. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "strv.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-cmdline-XXXXXX";

/* Parse line, check the path and the words joined with '|'. */
static void check_parse(const char *line, const char *path, const char *joined, ExecCommandFlags flags) {
        ExecCommand c = {};
        const char *reason = NULL;
        _cleanup_free_ char *j = NULL;
        int r = exec_command_parse(line, &c, &reason);

        if (r < 0) {
                fprintf(stderr, "exec_command_parse(\"%s\"): %s\n", line, reason);
                abort();
        }
        j = strv_join(c.argv, "|");
        ASSERT_STREQ(c.path, path);
        ASSERT_STREQ(j, joined);
        ASSERT_EQ(c.flags, flags);
        exec_command_done(&c);
}

static void check_parse_fails(const char *line) {
        ExecCommand c = { .path = (char *) "untouched" };
        const char *reason = NULL;

        ASSERT_EQ(exec_command_parse(line, &c, &reason), -EINVAL);
        ASSERT_TRUE(reason != NULL);
        ASSERT_STREQ(c.path, "untouched");
}

TEST(parse_quoting) {
        check_parse("/bin/echo hello world", "/bin/echo", "/bin/echo|hello|world", 0);
        check_parse("  echo   a\t b  ", "echo", "echo|a|b", 0);
        check_parse("sh -c 'echo a ; echo b'", "sh", "sh|-c|echo a ; echo b", 0);
        check_parse("echo \"a b\" 'c d'", "echo", "echo|a b|c d", 0);
        check_parse("echo \"\" ''", "echo", "echo||", 0);
        check_parse("echo a\"b c\"d", "echo", "echo|ab cd", 0);
        check_parse("echo \"it's\" 'say \"hi\"'", "echo", "echo|it's|say \"hi\"", 0);
        check_parse("echo \"a\\\"b\"", "echo", "echo|a\"b", 0);
        check_parse("echo a\\ b", "echo", "echo|a b", 0);
        check_parse("printf \"x\\ty\\n\"", "printf", "printf|x\ty\n", 0);
        check_parse("echo \\x41\\102\\u00e9\\s.", "echo", "echo|AB\xc3\xa9 .", 0);
        check_parse("grep \\d+", "grep", "grep|\\d+", 0);
        check_parse("echo $HOME ${X}", "echo", "echo|$HOME|${X}", 0);
        check_parse("find / -exec rm {} \\;", "find", "find|/|-exec|rm|{}|;", 0);
        check_parse("echo done ;", "echo", "echo|done", 0);
}

TEST(parse_prefixes) {
        check_parse("-/bin/false", "/bin/false", "/bin/false", EXEC_COMMAND_IGNORE_FAILURE);
        check_parse("@/bin/sleep mysleep 10", "/bin/sleep", "mysleep|10", EXEC_COMMAND_ARGV0);
        check_parse("-@/bin/sleep x", "/bin/sleep", "x", EXEC_COMMAND_ARGV0 | EXEC_COMMAND_IGNORE_FAILURE);
        check_parse("@-/bin/sleep x", "/bin/sleep", "x", EXEC_COMMAND_ARGV0 | EXEC_COMMAND_IGNORE_FAILURE);
        check_parse("+/bin/true", "/bin/true", "/bin/true", EXEC_COMMAND_FULL_PRIVILEGES);
        check_parse("!/bin/true", "/bin/true", "/bin/true", EXEC_COMMAND_NO_SETUID);
        check_parse("!!/bin/true", "/bin/true", "/bin/true", EXEC_COMMAND_NO_SETUID);
        check_parse(":/bin/echo $X", "/bin/echo", "/bin/echo|$X", EXEC_COMMAND_NO_ENV_EXPAND);
        check_parse("-+@/bin/a b", "/bin/a", "b",
                    EXEC_COMMAND_IGNORE_FAILURE | EXEC_COMMAND_FULL_PRIVILEGES | EXEC_COMMAND_ARGV0);
}

TEST(parse_bad) {
        check_parse_fails("");
        check_parse_fails("   ");
        check_parse_fails("-");
        check_parse_fails("-@+");
        check_parse_fails("--/bin/true");
        check_parse_fails("+!/bin/true");
        check_parse_fails("@/bin/sleep");
        check_parse_fails("echo 'unterminated");
        check_parse_fails("echo \"unterminated");
        check_parse_fails("echo a ; echo b");
        check_parse_fails("echo \\x0");
        check_parse_fails("echo \\x00");
        check_parse_fails("echo \\000");
        check_parse_fails("echo \\u0000");
        check_parse_fails("echo \\ud800");
        check_parse_fails("echo trailing\\");
        check_parse_fails("\"\" arg");
}

static void check_expand(const char *line, char *const *env, const char *joined) {
        ExecCommand c = {};
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *j = NULL;

        ASSERT_OK(exec_command_parse(line, &c, NULL));
        ASSERT_OK(exec_command_expand(&c, env, &argv));
        j = strv_join(argv, "|");
        ASSERT_STREQ(j, joined);
        exec_command_done(&c);
}

TEST(expand) {
        char *env[] = { (char *) "A=one two  three", (char *) "B=bee", (char *) "EMPTY=",
                        (char *) "B=later", NULL };

        check_expand("echo $A", env, "echo|one|two|three");
        check_expand("echo ${A}", env, "echo|one two  three");
        check_expand("echo x${B}y", env, "echo|xlatery");
        check_expand("echo x$B.y", env, "echo|xlater.y");
        check_expand("echo $UNSET end", env, "echo|end");
        check_expand("echo ${UNSET} end", env, "echo||end");
        check_expand("echo $EMPTY end", env, "echo|end");
        check_expand("echo $$ $$B a$$b", env, "echo|$|$B|a$b");
        check_expand("echo $ 5$ ${ ${1} $1", env, "echo|$|5$|${|${1}|$1");
        check_expand("echo \"$A\"", env, "echo|one|two|three"); /* quotes are gone by then, as in systemd */
        check_expand(":echo $A", env, "echo|$A");
        check_expand("echo $A", NULL, "echo");
}

static char *write_fixture(const char *name, const char *content, size_t n) {
        char *p = NULL;
        int fd;

        ASSERT_TRUE(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, content, n), (ssize_t) n);
        close(fd);
        return p;
}

TEST(env_file) {
        static const char content[] =
                "# comment\n"
                "; another comment\n"
                "A=1\n"
                "  B = spaced value   \n"
                "export C=exported\n"
                "D='single $quoted \\n'\n"
                "E=\"double \\\"quoted\\\" \\$x \\n\"\n"
                "F=multi\\\n"
                "line\n"
                "G=\"two\n"
                "lines\"\n"
                "invalid line without equals\n"
                "1BAD=x\n"
                "=novalue\n"
                "H=\n"
                "I=a#b;c\n"
                "J=\"quoted\" trailing\n"
                "K=x\\ \n"
                "A=2\r\n"
                "# comment continued \\\n"
                "HIDDEN=1\n"
                "L=last";
        _cleanup_free_ char *p = write_fixture("env", content, sizeof(content) - 1);
        _cleanup_strv_free_ char **env = NULL;

        ASSERT_OK(strv_extend(&env, "PRE=kept"));
        ASSERT_OK(strv_extend(&env, "A=0"));
        ASSERT_OK(env_file_read(p, &env));
        ASSERT_STREQ(strv_env_get(env, "PRE"), "kept");
        ASSERT_STREQ(strv_env_get(env, "A"), "2");
        ASSERT_STREQ(strv_env_get(env, "B"), "spaced value");
        ASSERT_STREQ(strv_env_get(env, "C"), "exported");
        ASSERT_STREQ(strv_env_get(env, "D"), "single $quoted \\n");
        ASSERT_STREQ(strv_env_get(env, "E"), "double \"quoted\" $x \\n");
        ASSERT_STREQ(strv_env_get(env, "F"), "multiline");
        ASSERT_STREQ(strv_env_get(env, "G"), "two\nlines");
        ASSERT_STREQ(strv_env_get(env, "H"), "");
        ASSERT_STREQ(strv_env_get(env, "I"), "a#b;c");
        ASSERT_STREQ(strv_env_get(env, "J"), "quotedtrailing");
        ASSERT_STREQ(strv_env_get(env, "K"), "x ");
        ASSERT_STREQ(strv_env_get(env, "L"), "last");
        ASSERT_TRUE(strv_env_get(env, "1BAD") == NULL);
        ASSERT_TRUE(strv_env_get(env, "HIDDEN") == NULL);
        ASSERT_TRUE(strv_env_get(env, "invalid line without equals") == NULL);
        ASSERT_EQ(strv_length(env), 13);
}

TEST(env_file_errors) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *missing = NULL, *nul = NULL, *big = NULL;
        char *content;

        ASSERT_OK(strv_extend(&env, "X=1"));
        ASSERT_TRUE(asprintf(&missing, "%s/missing", tmpdir) > 0);
        ASSERT_EQ(env_file_read(missing, &env), -ENOENT);
        ASSERT_EQ(env_file_read(tmpdir, &env), -EISDIR);
        ASSERT_EQ(strv_length(env), 1);

        /* A NUL byte spoils only its own assignment. */
        nul = write_fixture("nul", "A=x\0y\nB=ok\n", 11);
        ASSERT_OK(env_file_read(nul, &env));
        ASSERT_TRUE(strv_env_get(env, "A") == NULL);
        ASSERT_STREQ(strv_env_get(env, "B"), "ok");

        /* Over 4 MiB: refused, and nothing added. */
        content = malloc(5 * 1024 * 1024);
        ASSERT_TRUE(content);
        memset(content, '#', 5 * 1024 * 1024);
        big = write_fixture("big", content, 5 * 1024 * 1024);
        free(content);
        ASSERT_EQ(env_file_read(big, &env), -EFBIG);
        ASSERT_EQ(strv_length(env), 2);
}

TEST(read_u64) {
        _cleanup_free_ char *ok = write_fixture("u64", "4096\n", 5), *bare = write_fixture("bare", "7", 1),
                            *text = write_fixture("text", "12 kB\n", 6), *empty = write_fixture("empty", "", 0);
        uint64_t v = 1;

        ASSERT_OK(read_file_u64(ok, &v));
        ASSERT_EQ(v, 4096);
        ASSERT_OK(read_file_u64(bare, &v));
        ASSERT_EQ(v, 7);
        ASSERT_EQ(read_file_u64(text, &v), -EBADMSG);
        ASSERT_EQ(read_file_u64(empty, &v), -EBADMSG);
        ASSERT_EQ(v, 7);
        ASSERT_EQ(read_file_u64(tmpdir, &v), -EISDIR);
}

TEST(split_words) {
        _cleanup_strv_free_ char **w = NULL;
        const char *reason = NULL;

        ASSERT_OK(cmdline_split_words("\"A=1\" \"B=2 3\" C=x\\ y", &w, NULL));
        ASSERT_EQ(strv_length(w), 3);
        ASSERT_STREQ(w[1], "B=2 3");
        ASSERT_STREQ(w[2], "C=x y");
        ASSERT_EQ(cmdline_split_words("'open", &w, &reason), -EINVAL);
        ASSERT_TRUE(reason != NULL);
}

static void cleanup_tmpdir(void) {
        char *cmd = NULL;
        if (asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0)
                (void) system(cmd);
        free(cmd);
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmpdir));
        RUN(parse_quoting);
        RUN(parse_prefixes);
        RUN(parse_bad);
        RUN(expand);
        RUN(split_words);
        RUN(env_file);
        RUN(env_file_errors);
        RUN(read_u64);
        cleanup_tmpdir();
        return 0;
}
