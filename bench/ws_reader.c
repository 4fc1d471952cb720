/*
 * ws_reader.c - assay-ws-reader: N WebSocket clients that cost next to nothing, for the
 * serving benchmark (bench/serve_bench.py, "clients").
 *
 *   assay-ws-reader HOST:PORT N
 *
 * The benchmark asks what 20 connected clients cost the pipeline. On a real deployment
 * the clients are browsers on other machines; here they share the two cores with assay,
 * and a client library that decodes every frame into a Python string (python3-websockets)
 * takes a sixth of the CPU the pipeline has. This reader stands in for the remote
 * browsers: one thread, one epoll set, each socket read 256 KiB at a time, and a small
 * state machine per connection that walks the frame headers of RFC 6455 section 5.2
 * (server frames are never masked: 2 header bytes, then a 16- or 64-bit length when the
 * 7-bit one says 126 or 127) and counts the text messages, checking that each one starts
 * like assay's events ('{"event":'). The payload is otherwise skipped, not copied.
 *
 * Prints "ready" once every client has completed its handshake (HTTP 101), then, when
 * the server has closed every connection, the smallest number of events any client
 * received. Exits 2 on any protocol error.
 */
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PREFIX     "{\"event\":"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

typedef struct {
    int fd;
    unsigned char hdr[14]; /* the frame header being read */
    size_t hdr_n;
    uint64_t left; /* payload bytes of the current frame still to skip */
    size_t seen;   /* payload bytes of the current frame looked at (prefix check) */
    int opcode;
    unsigned long events;
    int open;
} client;

static void die(const char *what)
{
    fprintf(stderr, "assay-ws-reader: %s\n", what);
    exit(2);
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        die("cannot resolve the address");
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        die("cannot connect");
    freeaddrinfo(ai);
    return fd;
}

/* Send the upgrade request and read the answer up to its blank line; anything after it
 * is the first frames, returned through buf/len. */
static void handshake(int fd, const char *hostport, unsigned char *buf, size_t cap, size_t *len)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /api/v1/stream HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     hostport);
    if (write(fd, req, (size_t)n) != n)
        die("cannot send the upgrade request");
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r <= 0)
            die("the server closed during the handshake");
        got += (size_t)r;
        unsigned char *end = memmem(buf, got, "\r\n\r\n", 4);
        if (end) {
            if (got < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0)
                die("the server refused the upgrade");
            size_t head = (size_t)(end - buf) + 4;
            memmove(buf, buf + head, got - head);
            *len = got - head;
            return;
        }
        if (got == cap)
            die("the handshake answer is too long");
    }
}

/* Feed n bytes of the stream to c's frame walker. */
static void feed(client *c, const unsigned char *p, size_t n)
{
    while (n) {
        if (c->left) {
            size_t k = c->left < n ? (size_t)c->left : n;
            if (c->opcode == 1 && c->seen < PREFIX_LEN) {
                size_t m = PREFIX_LEN - c->seen < k ? PREFIX_LEN - c->seen : k;
                if (memcmp(p, PREFIX + c->seen, m) != 0)
                    die("a text message that is not an assay event");
            }
            c->seen += k;
            c->left -= k;
            p += k;
            n -= k;
            continue;
        }
        c->hdr[c->hdr_n++] = *p++;
        n--;
        if (c->hdr_n < 2)
            continue;
        if (c->hdr[1] & 0x80)
            die("a masked frame from the server");
        unsigned l7 = c->hdr[1] & 0x7f;
        size_t need = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
        if (c->hdr_n < need)
            continue;
        uint64_t len = l7;
        if (l7 >= 126) {
            len = 0;
            for (size_t i = 2; i < need; i++)
                len = len << 8 | c->hdr[i];
        }
        c->opcode = c->hdr[0] & 0x0f;
        if (c->opcode == 1)
            c->events++;
        else if (c->opcode == 8)
            c->open = 0; /* close: the rest is its reason */
        c->hdr_n = 0;
        c->left = len;
        c->seen = 0;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: assay-ws-reader HOST:PORT N");
    char host[256];
    const char *colon = strrchr(argv[1], ':');
    if (!colon || (size_t)(colon - argv[1]) >= sizeof(host))
        die("HOST:PORT expected");
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = 0;
    int nc = atoi(argv[2]);
    if (nc < 1 || nc > 1000)
        die("N must be 1 to 1000");
    static unsigned char buf[256 * 1024];
    client *cs = calloc((size_t)nc, sizeof(*cs));
    int ep = epoll_create1(0);
    if (!cs || ep < 0)
        die("out of memory");
    for (int i = 0; i < nc; i++) {
        size_t len = 0;
        cs[i].fd = dial(host, colon + 1);
        cs[i].open = 1;
        handshake(cs[i].fd, argv[1], buf, sizeof(buf), &len);
        feed(&cs[i], buf, len);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
            die("epoll_ctl failed");
    }
    printf("ready\n");
    fflush(stdout);
    int live = nc;
    while (live) {
        struct epoll_event evs[64];
        int k = epoll_wait(ep, evs, 64, -1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            die("epoll_wait failed");
        for (int i = 0; i < k; i++) {
            client *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, buf, sizeof(buf));
            if (r > 0) {
                feed(c, buf, (size_t)r);
                continue;
            }
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            live--;
        }
    }
    unsigned long least = cs[0].events;
    for (int i = 1; i < nc; i++)
        least = cs[i].events < least ? cs[i].events : least;
    printf("%lu\n", least);
    free(cs);
    return 0;
}
