/* parse_time(), parse_size() and format_timespan(): systemd's syntax, good and bad values. */
#include <errno.h>

#include "tests.h"
#include "time-util.h"

static usec_t t_ok(const char *s) {
        usec_t t = 4242;
        int r = parse_time(s, &t);
        if (r < 0) {
                fprintf(stderr, "parse_time(\"%s\") failed: %d\n", s, r);
                abort();
        }
        return t;
}

static int t_err(const char *s) {
        usec_t t = 4242;
        int r = parse_time(s, &t);
        ASSERT_EQ(t, 4242); /* untouched on failure */
        return r;
}

TEST(parse_time_units) {
        ASSERT_EQ(t_ok("0"), 0);
        ASSERT_EQ(t_ok("10"), 10 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("10s"), 10 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("10 sec"), 10 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1second"), USEC_PER_SEC);
        ASSERT_EQ(t_ok("2seconds"), 2 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("500ms"), 500 * USEC_PER_MSEC);
        ASSERT_EQ(t_ok("500msec"), 500 * USEC_PER_MSEC);
        ASSERT_EQ(t_ok("7us"), 7);
        ASSERT_EQ(t_ok("7usec"), 7);
        ASSERT_EQ(t_ok("7\xc2\xb5s"), 7);
        ASSERT_EQ(t_ok("2min"), 120 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("2m"), 120 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1minute"), 60 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("3minutes"), 180 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1h"), 3600 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1hr"), 3600 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("2hours"), 7200 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1d"), 86400 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("2days"), 2 * 86400 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1w"), 7 * 86400 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1week"), 7 * 86400 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1M"), 2629800 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1month"), 2629800 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1y"), 31557600 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("2years"), 2 * 31557600 * USEC_PER_SEC);
}

TEST(parse_time_compound) {
        ASSERT_EQ(t_ok("1h 30s"), 3630 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("1h30s"), 3630 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("  1min 500ms  "), 60500 * USEC_PER_MSEC);
        ASSERT_EQ(t_ok("1.5s"), 1500 * USEC_PER_MSEC);
        ASSERT_EQ(t_ok("0.5"), 500 * USEC_PER_MSEC);
        ASSERT_EQ(t_ok(".25s"), 250 * USEC_PER_MSEC);
        ASSERT_EQ(t_ok("1.5h"), 5400 * USEC_PER_SEC);
        ASSERT_EQ(t_ok("infinity"), USEC_INFINITY);
        ASSERT_EQ(t_ok(" infinity "), USEC_INFINITY);
}

TEST(parse_time_bad) {
        ASSERT_EQ(t_err(""), -EINVAL);
        ASSERT_EQ(t_err("   "), -EINVAL);
        ASSERT_EQ(t_err("abc"), -EINVAL);
        ASSERT_EQ(t_err("10x"), -EINVAL);
        ASSERT_EQ(t_err("10sx"), -EINVAL);
        ASSERT_EQ(t_err("-5s"), -EINVAL);
        ASSERT_EQ(t_err("5s-"), -EINVAL);
        ASSERT_EQ(t_err("."), -EINVAL);
        ASSERT_EQ(t_err("infinityx"), -EINVAL);
        ASSERT_EQ(t_err("1 infinity"), -EINVAL);
        ASSERT_EQ(t_err("99999999999999999999"), -ERANGE);
        ASSERT_EQ(t_err("18446744073709551615us"), -ERANGE);
        ASSERT_EQ(t_err("100000000000y"), -ERANGE);
        ASSERT_EQ(t_err("18446744073709551s 18446744073709551s"), -ERANGE);
        ASSERT_EQ(parse_time(NULL, &(usec_t) { 0 }), -EINVAL);
}

TEST(parse_time_unit) {
        usec_t t;
        ASSERT_OK(parse_time_unit("20", 1, &t));
        ASSERT_EQ(t, 20);
        ASSERT_OK(parse_time_unit("20ms", 1, &t));
        ASSERT_EQ(t, 20000);
}

TEST(parse_size) {
        uint64_t v = 0;

        ASSERT_OK(parse_size("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(parse_size("123", &v));
        ASSERT_EQ(v, 123);
        ASSERT_OK(parse_size("123B", &v));
        ASSERT_EQ(v, 123);
        ASSERT_OK(parse_size("512K", &v));
        ASSERT_EQ(v, 512 * 1024);
        ASSERT_OK(parse_size("10M", &v));
        ASSERT_EQ(v, 10 * 1024 * 1024);
        ASSERT_OK(parse_size("1G", &v));
        ASSERT_EQ(v, 1024ULL * 1024 * 1024);
        ASSERT_OK(parse_size("2T", &v));
        ASSERT_EQ(v, 2ULL << 40);
        ASSERT_OK(parse_size("1P", &v));
        ASSERT_EQ(v, 1ULL << 50);
        ASSERT_OK(parse_size("3E", &v));
        ASSERT_EQ(v, 3ULL << 60);
        ASSERT_OK(parse_size("1.5M", &v));
        ASSERT_EQ(v, 1536 * 1024);
        ASSERT_OK(parse_size("1G 512M", &v));
        ASSERT_EQ(v, (1ULL << 30) + (512ULL << 20));
        ASSERT_OK(parse_size(" 4 K ", &v));
        ASSERT_EQ(v, 4096);

        v = 7;
        ASSERT_EQ(parse_size("", &v), -EINVAL);
        ASSERT_EQ(parse_size("M", &v), -EINVAL);
        ASSERT_EQ(parse_size("10X", &v), -EINVAL);
        ASSERT_EQ(parse_size("10MB", &v), -EINVAL);
        ASSERT_EQ(parse_size("-1", &v), -EINVAL);
        ASSERT_EQ(parse_size("infinity", &v), -EINVAL);
        ASSERT_EQ(parse_size("16E", &v), -ERANGE);
        ASSERT_EQ(parse_size("99999999999999999999", &v), -ERANGE);
        ASSERT_EQ(v, 7);
}

TEST(format_timespan) {
        char buf[64];

        ASSERT_STREQ(format_timespan(buf, sizeof(buf), 0), "0s");
        ASSERT_STREQ(format_timespan(buf, sizeof(buf), 45 * USEC_PER_SEC), "45s");
        ASSERT_STREQ(format_timespan(buf, sizeof(buf), (3 * 3600 + 12 * 60 + 7) * USEC_PER_SEC), "3h 12m");
        ASSERT_STREQ(format_timespan(buf, sizeof(buf), (2 * 86400 + 4 * 3600 + 5) * USEC_PER_SEC), "2d 4h");
        ASSERT_STREQ(format_timespan(buf, sizeof(buf), 1500 * USEC_PER_MSEC), "1s 500ms");
        ASSERT_STREQ(format_timespan(buf, sizeof(buf), 3600 * USEC_PER_SEC), "1h");
        ASSERT_STREQ(format_timespan(buf, sizeof(buf), 250), "250us");
        ASSERT_STREQ(format_timespan(buf, sizeof(buf), USEC_INFINITY), "infinity");
        /* What it prints parses back to the same value when nothing was dropped. */
        usec_t t;
        ASSERT_OK(parse_time(format_timespan(buf, sizeof(buf), 90 * USEC_PER_SEC), &t));
        ASSERT_EQ(t, 90 * USEC_PER_SEC);
        /* A short buffer truncates, never overflows. */
        char small[4];
        format_timespan(small, sizeof(small), (2 * 86400 + 4 * 3600) * USEC_PER_SEC);
        ASSERT_TRUE(strlen(small) < sizeof(small));
}

int main(void) {
        RUN(parse_time_units);
        RUN(parse_time_compound);
        RUN(parse_time_bad);
        RUN(parse_time_unit);
        RUN(parse_size);
        RUN(format_timespan);
        return 0;
}
