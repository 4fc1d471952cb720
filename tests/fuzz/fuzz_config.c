/*
 * fuzz_config.c - libFuzzer target for the config loader (YAML/JSON through libyaml,
 * the key tables and every validation path) and for the duration/size parsers.
 *
 * Properties checked besides "no crash, no leak, no UB":
 *   - a rejected config always comes with a negative code and a non-empty message,
 *     and an accepted one with a zero code and a config;
 *   - every duration that parses formats back to text that parses to the same value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/config.h"
#include "assay/number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_duration(const char *s, size_t len)
{
    int64_t us;
    if (assay_parse_duration(s, len, &us) != 0)
        return;
    char buf[64];
    size_t n = assay_format_duration(us, buf, sizeof(buf));
    int64_t back;
    if (assay_parse_duration(buf, n, &back) != 0 || back != us)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    assay_config *cfg = NULL;
    assay_error err = { 0 };
    int rc = assay_config_parse(text, size, "fuzz/config.yaml", &cfg, &err);
    if (rc == 0) {
        if (!cfg)
            abort();
        /* Touch what consumers read first. */
        for (size_t i = 0; i < cfg->nrules; i++)
            if (!cfg->rules[i].name ||
                (cfg->rules[i].check != ASSAY_CHECK_ROW_COUNT && !cfg->rules[i].column))
                abort();
        assay_config_free(cfg);
    } else {
        if (cfg || rc >= 0 || err.msg[0] == '\0' || !memchr(err.msg, '\0', sizeof(err.msg)))
            abort();
    }

    /* Short inputs double as unit values. */
    if (size <= 64) {
        check_duration(text, size);
        uint64_t bytes;
        (void)assay_parse_size(text, size, &bytes);
    }
    return 0;
}
