/* libFuzzer target: the REST API's request handling (src/serve/api.c) - routing, query
 * parameters, the token, Origin and rate-limit checks - from arbitrary bytes, on a
 * server state with one window and one alert in an in-memory history. The input is
 * split at newlines: method, path, then query parameters (one per line), and the
 * Authorization and Origin headers after a line "--". No socket is involved: what is
 * fuzzed is our parsing of what libwebsockets hands over. */
#include <stdlib.h>
#include <string.h>

#include "serve/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static assay_server *server(void)
{
    static assay_server s;
    static bool ready;
    if (ready)
        return &s;
    static const char cfg[] = "asset: orders\n"
                              "rules: [{name: r, column: a, check: not_null}]\n"
                              "http: {listen: '127.0.0.1:9464', rate_limit: 1000000}\n";
    assay_error err = { 0 };
    if (assay_config_parse(cfg, sizeof(cfg) - 1, "fuzz.yaml", &s.cfg, &err) < 0 ||
        hub_init(&s.hub, s.cfg, &err) < 0 || assay_history_open(&s.hist, NULL, 0, &err) < 0)
        abort();
    s.rate = calloc(SERVE_RATE_CLIENTS, sizeof(rate_slot));
    s.token = strdup("t0ken");
    s.port = 9464;
    snprintf(s.host, sizeof(s.host), "127.0.0.1");
    static const char score[] = "{\"type\":\"score\",\"id\":\"00000000000000aa\"}";
    static const char alert[] = "{\"type\":\"alert\",\"id\":\"00000000000000bb\","
                                "\"state\":\"firing\"}";
    if (assay_history_add_score(s.hist, "00000000000000aa", 0, 60000000, 99.5, score,
                                sizeof(score) - 1, &err) < 0 ||
        assay_history_add_alert(s.hist, "00000000000000bb", "firing", "rule_breach", "high", 0,
                                60000000, alert, sizeof(alert) - 1, &err) < 0)
        abort();
    hub_seed_score(&s.hub, score, sizeof(score) - 1);
    ready = true;
    return &s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    assay_server *s = server();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *lines[32];
    size_t n = 0;
    for (char *p = text; n < 32;) {
        lines[n++] = p;
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    api_request rq = { .peer = "127.0.0.1" };
    static const char *const methods[] = { "GET", "POST", "HEAD", "PUT" };
    unsigned m = n > 0 && lines[0][0] ? (unsigned char)lines[0][0] % 4 : 0;
    rq.method = m == 0 ? API_GET : m == 1 ? API_POST : m == 2 ? API_HEAD : API_OTHER;
    rq.method_name = methods[m];
    rq.path = n > 1 ? lines[1] : "/";
    char *args[16];
    size_t i = 2;
    for (; i < n && strcmp(lines[i], "--") != 0 && rq.nargs < 16; i++)
        args[rq.nargs++] = lines[i];
    rq.args = args;
    if (i < n && !strcmp(lines[i], "--")) {
        rq.auth = i + 1 < n ? lines[i + 1] : NULL;
        rq.origin = i + 2 < n ? lines[i + 2] : NULL;
    }
    rq.body_len = size % 100000;
    api_response rs = { 0 };
    assay_sb_init(&rs.body);
    api_handle(s, &rq, &rs);
    if (rs.wait_seq) { /* no pipeline here: let the command expire as it would */
        hub_command_expire(&s->hub, 1e300);
        int rc;
        char msg[512];
        if (hub_command_result(&s->hub, rs.wait_seq, &rc, msg, sizeof(msg)) == 1) {
            rs.body.len = 0;
            api_finish_command(s, rs.wait_id, rc, msg, &rs);
        }
    }
    assay_sb_free(&rs.body);
    free(text);
    return 0;
}
