/* strv and hashmap. */
#include <string.h>

#include "hashmap.h"
#include "strv.h"
#include "tests.h"
#include "utf8.h"

TEST(strv) {
        _cleanup_strv_free_ char **l = strv_split("  a b\tc  ", " \t");
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[2], "c");
        _cleanup_free_ char *j = strv_join(l, ",");
        ASSERT_STREQ(j, "a,b,c");
        ASSERT_TRUE(strv_contains(l, "b"));
        ASSERT_OK(strv_env_set(&l, "X=1"));
        ASSERT_OK(strv_env_set(&l, "X=2"));
        ASSERT_STREQ(strv_env_get(l, "X"), "2");
        ASSERT_EQ(strv_length(l), 4);
}

TEST(hashmap_many) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new_uint64();
        for (uintptr_t i = 1; i <= 10000; i++)
                ASSERT_OK(hashmap_put(h, HASHMAP_UINT(i), (void *) (i * 2)));
        ASSERT_EQ(hashmap_put(h, HASHMAP_UINT(5), NULL), -EEXIST);
        for (uintptr_t i = 1; i <= 10000; i += 2)
                ASSERT_EQ((uintptr_t) hashmap_remove(h, HASHMAP_UINT(i)), i * 2);
        ASSERT_EQ(hashmap_size(h), 5000);
        for (uintptr_t i = 1; i <= 10000; i++)
                ASSERT_EQ((uintptr_t) hashmap_get(h, HASHMAP_UINT(i)), i % 2 ? 0 : i * 2);
        size_t it = 0, n = 0;
        void *v;
        while (hashmap_iterate(h, &it, &v, NULL))
                n++;
        ASSERT_EQ(n, 5000);
}

TEST(hashmap_strings) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new_string();
        char keys[100][8];
        for (int i = 0; i < 100; i++) {
                snprintf(keys[i], sizeof(keys[i]), "k%d", i);
                ASSERT_OK(hashmap_put(h, keys[i], keys[i]));
        }
        ASSERT_TRUE(hashmap_get(h, "k42") == keys[42]);
        ASSERT_TRUE(hashmap_get(h, "nope") == NULL);
        ASSERT_TRUE(hashmap_remove(h, "k42") == keys[42]);
        ASSERT_TRUE(hashmap_get(h, "k42") == NULL);
        ASSERT_TRUE(hashmap_get(h, "k43") == keys[43]);
}

TEST(utf8) {
        ASSERT_TRUE(utf8_is_valid("plain", 5));
        ASSERT_TRUE(utf8_is_valid("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", 15));
        ASSERT_TRUE(!utf8_is_valid("\xff", 1));
        ASSERT_TRUE(!utf8_is_valid("\xc0\xaf", 2));         /* overlong '/' */
        ASSERT_TRUE(!utf8_is_valid("\xed\xa0\x80", 3));     /* surrogate */
        ASSERT_TRUE(!utf8_is_valid("\xe2\x82", 2));         /* cut short */
        _cleanup_free_ char *e = utf8_escape_invalid("a\xff" "b\xc3\xbc");
        ASSERT_STREQ(e, "a\\xff" "b\xc3\xbc");
}

int main(void) {
        RUN(strv);
        RUN(hashmap_many);
        RUN(hashmap_strings);
        RUN(utf8);
        return 0;
}
