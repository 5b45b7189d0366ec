/*
 * ingest-worker.c - a fast worker for the ingestion benchmark: writes
 * RECORDS error records (each with a PAYLOAD-byte payload) and PROGRESS
 * progress lines, interleaved, to $NIGHTSHIFT_REPORT_FD through one large
 * stdio buffer, then writes its own wall time in seconds to TIMEFILE.
 *
 *   ingest-worker RECORDS PROGRESS PAYLOAD TIMEFILE
 *
 * Run once with the report fd on /dev/null (the worker alone) and once under
 * nightshift: the ratio of the two times is how much the runtime slows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fputs("usage: ingest-worker RECORDS PROGRESS PAYLOAD TIMEFILE\n", stderr);
        return 2;
    }
    long records = strtol(argv[1], NULL, 10), progress = strtol(argv[2], NULL, 10);
    long plen = strtol(argv[3], NULL, 10);
    const char *fds = getenv("NIGHTSHIFT_REPORT_FD");
    if (!fds || records < 0 || progress < 0 || plen < 0 || plen > 1 << 20)
        return 2;
    FILE *out = fdopen(atoi(fds), "w");
    if (!out)
        return 2;
    static char buf[1 << 16];
    setvbuf(out, buf, _IOFBF, sizeof buf);
    char *payload = malloc((size_t)plen + 1);
    if (!payload)
        return 2;
    for (long i = 0; i < plen; i++)
        payload[i] = (char)('a' + i % 26);
    double t0 = now();
    long per = records > 0 ? progress / records : 0, p = 0;
    fprintf(out, "total %ld\n", progress);
    for (long r = 0; r < records; r++) {
        for (long k = 0; k < per; k++)
            fprintf(out, "progress %ld\n", ++p);
        fprintf(out, "error/%ld rec-%ld bad record %ld in column 3\n", plen, r, r);
        fwrite(payload, 1, (size_t)plen, out);
        fputc('\n', out);
    }
    while (p < progress)
        fprintf(out, "progress %ld\n", ++p);
    if (fflush(out) != 0)
        return 1;
    double t1 = now();
    FILE *tf = fopen(argv[4], "w");
    if (!tf)
        return 2;
    fprintf(tf, "%.6f\n", t1 - t0);
    fclose(tf);
    return 0;
}
