/* The OpenSSL side of the differential suite (tests/tests/openssl_diff.rs): one client
 * connection driven through the system libssl's real SSL_connect / SSL_read / SSL_write /
 * SSL_shutdown, printing the raw return value and SSL_get_error() code of every call.
 *
 *   driver <block|nonblock|pair> <port> <ca.pem> <rcvtimeo_ms> <wait_ms> <pair_capacity> OP...
 *   driver version                 the libssl it runs on (the expectations are for OpenSSL 3.0)
 *   OP: connect | read | drain | write | shutdown | poll
 *
 * Output, one line per OP (the Rust driver prints exactly the same language):
 *   <op> <ret> <err>          the first result that is not a retry (want read / want write)
 *   <op> timeout <err>        still a retry with <err> when wait_ms ran out
 *   poll <0|1>                the raw socket became readable within wait_ms
 *   drain <ret> <err>         SSL_read until it returns <= 0 (data is counted, not printed)
 * The test adds the final outcome seen from the wire: the alert the scripted server received.
 *
 * A retry is retried: on the blocking socket at once (only SO_RCVTIMEO makes one), on the
 * non-blocking socket after poll(2) for the direction asked, on the BIO pair after moving bytes
 * by hand between the pair's far end and the socket. The Rust twin follows the same steps. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum transport { BLOCK, NONBLOCK, PAIR };

static int fd = -1;
static enum transport tr;
static BIO *far_end; /* the pair's end we pump (PAIR only) */
static int socket_eof;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline) {
    long long left = deadline - now_ms();
    return left < 0 ? 0 : (int)left;
}

/* Writes all of buf to the (non-blocking) socket; 0 when the peer is gone. */
static int socket_write_all(const unsigned char *buf, size_t len, long long deadline) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {fd, POLLOUT, 0};
            if (poll(&p, 1, remaining(deadline)) <= 0)
                return 0;
            continue;
        }
        return 0;
    }
    return 1;
}

/* PAIR: everything the SSL wrote into the pair goes to the socket. */
static void pump_out(long long deadline) {
    unsigned char buf[4096];
    for (;;) {
        size_t pending = BIO_ctrl_pending(far_end);
        if (pending == 0)
            return;
        int n = BIO_read(far_end, buf, (int)(pending < sizeof buf ? pending : sizeof buf));
        if (n <= 0)
            return;
        if (!socket_write_all(buf, (size_t)n, deadline))
            return;
    }
}

/* PAIR: at most what fits from the socket into the pair; an EOF or a reset of the socket
 * becomes the pair's EOF. Returns 0 when nothing came within the deadline. */
static int pump_in(long long deadline) {
    unsigned char buf[16384];
    size_t space = BIO_ctrl_get_write_guarantee(far_end);
    if (space == 0 || socket_eof)
        return 0;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, remaining(deadline)) <= 0)
        return 0;
    ssize_t n = recv(fd, buf, space < sizeof buf ? space : sizeof buf, 0);
    if (n > 0) {
        BIO_write(far_end, buf, (int)n);
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 1;
    socket_eof = 1;
    BIO_shutdown_wr(far_end);
    return 1;
}

/* Makes progress for a retry with `err`; 0 when the deadline passed first. */
static int wait_for(int err, long long deadline) {
    if (now_ms() >= deadline)
        return 0;
    switch (tr) {
    case BLOCK:
        return 1;
    case NONBLOCK: {
        struct pollfd p = {fd, err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0};
        return poll(&p, 1, remaining(deadline)) > 0;
    }
    case PAIR:
        pump_out(deadline);
        if (err == SSL_ERROR_WANT_WRITE)
            return 1;
        return pump_in(deadline);
    }
    return 0;
}

static int call(SSL *ssl, const char *op) {
    static char buf[16384];
    if (!strcmp(op, "connect"))
        return SSL_connect(ssl);
    if (!strcmp(op, "read") || !strcmp(op, "drain"))
        return SSL_read(ssl, buf, sizeof buf);
    if (!strcmp(op, "write"))
        return SSL_write(ssl, "GET / HTTP/1.0\r\n\r\n", 18);
    if (!strcmp(op, "shutdown"))
        return SSL_shutdown(ssl);
    fprintf(stderr, "unknown op %s\n", op);
    exit(2);
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "version")) {
        printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
        return 0;
    }
    if (argc < 7) {
        fprintf(stderr, "usage: driver <block|nonblock|pair> <port> <ca.pem> <rcvtimeo_ms> "
                        "<wait_ms> <pair_capacity> OP...\n");
        return 2;
    }
    tr = !strcmp(argv[1], "block") ? BLOCK : !strcmp(argv[1], "nonblock") ? NONBLOCK : PAIR;
    int port = atoi(argv[2]);
    int rcvtimeo = atoi(argv[4]);
    int wait_ms = atoi(argv[5]);
    long capacity = atol(argv[6]);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        return 3;
    }
    if (tr == BLOCK && rcvtimeo > 0) {
        struct timeval tv = {rcvtimeo / 1000, (rcvtimeo % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    if (tr != BLOCK)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) {
        ERR_print_errors_fp(stderr);
        return 3;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL *ssl = SSL_new(ctx);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    SSL_set_connect_state(ssl);
    if (tr == PAIR) {
        BIO *near_end;
        BIO_new_bio_pair(&near_end, (size_t)capacity, &far_end, (size_t)capacity);
        SSL_set_bio(ssl, near_end, near_end);
    } else {
        SSL_set_fd(ssl, fd);
    }

    for (int i = 7; i < argc; i++) {
        const char *op = argv[i];
        long long deadline = now_ms() + wait_ms;
        if (!strcmp(op, "poll")) {
            if (tr == PAIR)
                pump_out(deadline);
            struct pollfd p = {fd, POLLIN, 0};
            printf("poll %d\n", poll(&p, 1, wait_ms) > 0 ? 1 : 0);
            fflush(stdout);
            continue;
        }
        for (;;) {
            ERR_clear_error();
            int ret = call(ssl, op);
            int err = SSL_get_error(ssl, ret);
            if (tr == PAIR)
                pump_out(deadline);
            if (ret > 0 && !strcmp(op, "drain"))
                continue;
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                if (wait_for(err, deadline))
                    continue;
                printf("%s timeout %d\n", op, err);
                break;
            }
            printf("%s %d %d\n", op, ret, err);
            break;
        }
        fflush(stdout);
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return 0;
}
