/* systemd command-line syntax: quoting on parse, $VAR expansion at spawn time, and
 * EnvironmentFile= reading. */
#pragma once

#include "../job-config.h"

/* Split one Exec line (after any "-@+!" prefixes were taken off by the caller, or not: this
 * handles them) into *ret. Quoting as systemd: "…", '…', backslash escapes (C-style in
 * double quotes: \n \t \" \\ \xNN …), words separated by whitespace; a lone ";" word ends
 * the command (systemd's multi-command separator is not supported: an error). Returns 0, or
 * -EINVAL with a reason in *ret_reason (static string). */
int exec_command_parse(const char *line, ExecCommand *ret, const char **ret_reason);
void exec_command_done(ExecCommand *c);

/* Split a value into words with the same quoting and escapes as an Exec line, with no prefixes
 * and no ";" handling (Environment= uses it). 0, or -EINVAL with a reason in *ret_reason. */
int cmdline_split_words(const char *s, char ***ret_words, const char **ret_reason);

/* Expand $VAR / ${VAR} / $$ from env into a new argv: a word that is exactly "$VAR" becomes the
 * value split on whitespace (empty → no word), "${VAR}" and embedded references substitute in
 * place (unset → ""). */
int exec_command_expand(const ExecCommand *c, char *const *env, char ***ret_argv);

/* Read an EnvironmentFile= (KEY=VALUE lines, # and ; comments, quotes, export prefix,
 * backslash continuation) and add to *env (later wins). -ENOENT if missing. */
int env_file_read(const char *path, char ***env);

/* Read a whole file of at most max bytes into a NUL-terminated buffer (also used for job files);
 * its length in *ret_size unless that is NULL. -EFBIG when larger, -errno from open()/read()
 * (-EISDIR for a directory). */
int read_file_limited(const char *path, size_t max, char **ret, size_t *ret_size);
/* A file holding one decimal number, as in /proc/sys: -EBADMSG when it holds something else. */
int read_file_u64(const char *path, uint64_t *ret);
