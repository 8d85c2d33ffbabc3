/*
 * Native baseline for the parser benchmark: Debian's libexpat, namespaces on
 * (XML_ParserCreateNS), fed the same corpus in the same chunks as the JS parsers.
 *
 * Input file (written by bench/parser/expat/native.ts), little-endian:
 *   "MKB1", u32 chunk count, u32 total bytes, u32 sizes[chunk count], bytes[total]
 * Usage: expat-bench FILE tokenize|route MIN_SECONDS MIN_ITERATIONS
 * Prints one JSON line: iterations, median and best ns per pass, and what it saw.
 *
 * route mode does what a router needs from a stanza: copy out the name and the
 * type/to/from/id attributes, and find the stanza's byte range in the input (raw bytes).
 */
#include <expat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int depth;
  uint64_t stanzas, ids, raw_bytes, routed;
  XML_Index stanza_start;
  char scratch[4096]; /* reused per stanza: the router's copy of name and attributes */
} Counts;

static size_t copy_into(char *dst, size_t at, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (at + n + 1 > cap) return at; /* longer than any JID the corpus holds */
  memcpy(dst + at, src, n + 1);
  return at + n + 1;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs) {
  (void)name;
  (void)attrs;
  ((Counts *)data)->depth++;
}

static void XMLCALL on_end(void *data, const XML_Char *name) {
  Counts *c = data;
  (void)name;
  if (--c->depth == 1) c->stanzas++;
}

/* Separate handlers for route mode so tokenize mode pays for nothing it does not use. */
static XML_Parser current;

static void XMLCALL on_start_route(void *data, const XML_Char *name, const XML_Char **attrs) {
  Counts *c = data;
  if (c->depth++ != 1) return;
  c->stanza_start = XML_GetCurrentByteIndex(current);
  size_t at = copy_into(c->scratch, 0, sizeof c->scratch, name);
  for (int i = 0; attrs[i]; i += 2) {
    const char *key = attrs[i];
    if (strcmp(key, "id") == 0) c->ids++;
    if (strcmp(key, "id") == 0 || strcmp(key, "type") == 0 || strcmp(key, "to") == 0 || strcmp(key, "from") == 0) {
      at = copy_into(c->scratch, at, sizeof c->scratch, attrs[i + 1]);
    }
  }
  c->routed += at;
}

static void XMLCALL on_end_route(void *data, const XML_Char *name) {
  Counts *c = data;
  (void)name;
  if (--c->depth != 1) return;
  c->stanzas++;
  c->raw_bytes += (uint64_t)(XML_GetCurrentByteIndex(current) + XML_GetCurrentByteCount(current) - c->stanza_start);
}

static uint32_t read_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s FILE tokenize|route MIN_SECONDS MIN_ITERATIONS\n", argv[0]);
    return 2;
  }
  int route = strcmp(argv[2], "route") == 0;
  double min_ns = atof(argv[3]) * 1e9;
  int min_iterations = atoi(argv[4]);

  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long file_size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *file = malloc((size_t)file_size);
  if (!file || fread(file, 1, (size_t)file_size, f) != (size_t)file_size) { fprintf(stderr, "short read\n"); return 1; }
  fclose(f);
  if (file_size < 12 || memcmp(file, "MKB1", 4) != 0) { fprintf(stderr, "not a corpus file\n"); return 1; }
  uint32_t chunk_count = read_u32(file + 4), total = read_u32(file + 8);
  const unsigned char *sizes = file + 12;
  const char *bytes = (const char *)(sizes + 4 * (size_t)chunk_count);
  if ((long)(12 + 4 * (size_t)chunk_count + total) != file_size) { fprintf(stderr, "corpus file size mismatch\n"); return 1; }

  XML_Parser parser = XML_ParserCreateNS(NULL, ' ');
  current = parser;
  Counts counts;
  size_t cap = 1024, n = 0;
  double *times = malloc(cap * sizeof *times);
  double spent = 0;
  while (n < (size_t)min_iterations || spent < min_ns) {
    memset(&counts, 0, sizeof counts);
    double t0 = now_ns();
    XML_ParserReset(parser, NULL);
    XML_SetUserData(parser, &counts);
    if (route) XML_SetElementHandler(parser, on_start_route, on_end_route);
    else XML_SetElementHandler(parser, on_start, on_end);
    size_t offset = 0;
    for (uint32_t i = 0; i < chunk_count; i++) {
      uint32_t size = read_u32(sizes + 4 * (size_t)i);
      if (XML_Parse(parser, bytes + offset, (int)size, 0) != XML_STATUS_OK) {
        fprintf(stderr, "expat: %s at line %lu\n", XML_ErrorString(XML_GetErrorCode(parser)),
                (unsigned long)XML_GetCurrentLineNumber(parser));
        return 1;
      }
      offset += size;
    }
    if (XML_Parse(parser, NULL, 0, 1) != XML_STATUS_OK) {
      fprintf(stderr, "expat: %s at end\n", XML_ErrorString(XML_GetErrorCode(parser)));
      return 1;
    }
    double elapsed = now_ns() - t0;
    if (n == cap) times = realloc(times, (cap *= 2) * sizeof *times);
    times[n++] = elapsed;
    spent += elapsed;
  }
  qsort(times, n, sizeof *times, compare_doubles);
  printf("{\"iterations\":%zu,\"median_ns\":%.0f,\"min_ns\":%.0f,\"stanzas\":%llu,\"ids\":%llu,\"raw_bytes\":%llu,\"routed\":%llu,\"expat\":\"%s\"}\n",
         n, times[n / 2], times[0], (unsigned long long)counts.stanzas, (unsigned long long)counts.ids,
         (unsigned long long)counts.raw_bytes, (unsigned long long)counts.routed, XML_ExpatVersion());
  XML_ParserFree(parser);
  free(times);
  free(file);
  return 0;
}
