/* Job file readers and the directory loader. */
#pragma once

#include <stddef.h>

#include "job-config.h"

/* One systemd-syntax file (NAME.job, NAME.service). *ret is always a JobConfig unless -ENOMEM:
 * a rejected job comes back with ->error set (and the error went through diag too). */
int conf_unit_parse_file(const char *path, const char *name, const Diag *diag, JobConfig **ret);
int conf_unit_parse_string(const char *data, size_t size, const char *path, const char *name,
                           const Diag *diag, JobConfig **ret);

/* Many jobs per file ("jobs:" mapping). Appends configs (rejected jobs with ->error set) to
 * configs and n. A file that cannot be parsed at all returns < 0 after an error through diag with
 * FILE:LINE:COLUMN, and appends nothing. */
int conf_yaml_parse_file(const char *path, const Diag *diag, JobConfig ***configs, size_t *n);
int conf_yaml_parse_string(const char *data, size_t size, const char *path, const Diag *diag,
                           JobConfig ***configs, size_t *n);
int conf_json_parse_file(const char *path, const Diag *diag, JobConfig ***configs, size_t *n);
int conf_json_parse_string(const char *data, size_t size, const char *path, const Diag *diag,
                           JobConfig ***configs, size_t *n);

/* Every recognised file of every directory, in order; a later directory overrides an earlier
 * one for the same job name. Missing directories are skipped. The result is sorted by name. */
int conf_load_dirs(char *const *dirs, const Diag *diag, JobConfig ***ret, size_t *ret_n);
void job_config_array_free(JobConfig **configs, size_t n);
