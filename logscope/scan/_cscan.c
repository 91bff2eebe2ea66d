/* The compiled backend of logscope.scan: the rules of pyscan.py, byte for byte, in one pass.
 *
 * Log text is hostile: every read is checked against the event's end, every buffer grows through
 * grow() with an overflow check, and the shape table is bounded (MAX_SHAPES). The output layout is
 * logscope/scan/layout.py's; tests/test_scan.py compares it with the Python backend's.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <ctype.h>

#define NCOL 36
#define NUL_I64 INT64_MIN
#define MAX_EVENT_BYTES (256 * 1024)
#define MAX_SHAPES 4096
#define MAX_PAIRS 64
#define SHAPE_SLOTS 8192

enum { OFFSET, LENGTH, LINE, DIALECT, TS, TS_START, TS_LEN, HOST_START, HOST_LEN, PROC_START, PROC_LEN,
       PID, FAMILY, KIND, THREAD_START, THREAD_LEN, LEVEL, PROGRAM_START, PROGRAM_LEN, MSG_START, MSG_LEN,
       F1_START, F1_LEN, ACTION_START, ACTION_LEN, F3_START, F3_LEN, SERVER_START, SERVER_LEN, IP_START,
       IP_LEN, DEPTH, NAME_CHECK, SHAPE, VALUES_FIRST, VALUES_COUNT };

typedef struct { char *data; size_t len, cap; } Buf;

static int grow(Buf *b, size_t more) {
    if (more > SIZE_MAX - b->len) return -1;
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) { if (cap > SIZE_MAX / 2) return -1; cap *= 2; }
    char *data = PyMem_Realloc(b->data, cap);
    if (!data) return -1;
    b->data = data; b->cap = cap;
    return 0;
}
static int put_i64(Buf *b, const int64_t *v, size_t n) {
    if (grow(b, n * sizeof(int64_t))) return -1;
    memcpy(b->data + b->len, v, n * sizeof(int64_t));
    b->len += n * sizeof(int64_t);
    return 0;
}

typedef struct { size_t start, len; } Span;
typedef struct {
    const unsigned char *s; size_t n;      /* the event */
    Buf events, values, declined, arena;   /* arena: shape keys, "k\0k\0" */
    int64_t slots[SHAPE_SLOTS];            /* arena offset + 1 of each shape, 0 = empty */
    int32_t slot_ids[SHAPE_SLOTS];
    size_t slot_lens[SHAPE_SLOTS];
    int nshapes;
    PyObject *shapes;
    long year; int has_year;
} Scan;

static const char *LEVELS[] = {"DIAG", "DEBUG", "STATUS", "NOTE", "WARNING", "ERROR", "FATAL", "ALERT", "EMERGENCY"};
static const char *MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int at(const Scan *x, size_t i) { return i < x->n ? x->s[i] : -1; }
static int lit(const Scan *x, size_t i, const char *t) {
    size_t k = strlen(t);
    return i <= x->n && x->n - i >= k && memcmp(x->s + i, t, k) == 0;
}
/* digits at i, exactly k (k>0) or 1..max (k==0); returns count read, value in *v */
static size_t digits(const Scan *x, size_t i, size_t min, size_t max, int64_t *v) {
    size_t c = 0; int64_t acc = 0;
    while (c < max && is_digit(at(x, i + c))) { acc = acc * 10 + (x->s[i + c] - '0'); c++; }
    if (c < min) return 0;
    if (v) *v = acc;
    return c;
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k; unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i <= k) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}
static int is_uspace(unsigned cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}
static unsigned first_cp(const unsigned char *s, size_t n) {  /* s is valid UTF-8, n > 0 */
    unsigned c = s[0];
    if (c < 0x80) return c;
    size_t k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    unsigned cp = c & (k == 1 ? 0x1F : k == 2 ? 0x0F : 0x07);
    for (size_t j = 1; j <= k && j < n; j++) cp = (cp << 6) | (s[j] & 0x3F);
    return cp;
}
static unsigned last_cp(const unsigned char *s, size_t n) {
    size_t i = n - 1;
    while (i > 0 && (s[i] & 0xC0) == 0x80 && n - i < 4) i--;
    return first_cp(s + i, n - i);
}
static int fits_end(const Scan *x) { return x->n > 0 && !is_uspace(last_cp(x->s, x->n)); }

/* ---- time ------------------------------------------------------------------------------------ */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}
static int days_in_month(int64_t y, int64_t m) {
    if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
    return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}
/* frac: digits at s[fs..fs+fl) (fl 0: none) */
static int64_t time_ns(const Scan *x, int64_t y, int64_t mo, int64_t d, int64_t hh, int64_t mm, int64_t ss,
                       size_t fs, size_t fl) {
    if (!(y >= 1678 && y <= 2261 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo))) return NUL_I64;
    if (hh > 23 || mm > 59 || ss > 59) return NUL_I64;
    int64_t nanos = 0;
    for (size_t i = 0; i < 9; i++) nanos = nanos * 10 + (i < fl ? x->s[fs + i] - '0' : 0);
    return (days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss) * 1000000000LL + nanos;
}
/* RFC 3339 at i: returns end or 0; ns in *ts */
static size_t rfc3339(const Scan *x, size_t i, int64_t *ts) {
    int64_t y, mo, d, hh, mm, ss, zh, zm;
    size_t p = i;
    if (!digits(x, p, 4, 4, &y) || at(x, p + 4) != '-') return 0; p += 5;
    if (!digits(x, p, 2, 2, &mo) || at(x, p + 2) != '-') return 0; p += 3;
    if (!digits(x, p, 2, 2, &d) || at(x, p + 2) != 'T') return 0; p += 3;
    if (!digits(x, p, 2, 2, &hh) || at(x, p + 2) != ':') return 0; p += 3;
    if (!digits(x, p, 2, 2, &mm) || at(x, p + 2) != ':') return 0; p += 3;
    if (!digits(x, p, 2, 2, &ss)) return 0; p += 2;
    size_t fs = 0, fl = 0;
    if (at(x, p) == '.' && is_digit(at(x, p + 1))) {
        size_t k = digits(x, p + 1, 1, 10, NULL);
        if (k > 9) return 0;
        fs = p + 1; fl = k; p += 1 + k;
    }
    int64_t ns = time_ns(x, y, mo, d, hh, mm, ss, fs, fl);
    int c = at(x, p);
    if (c == 'Z') { *ts = ns; return p + 1; }
    if (c != '+' && c != '-') return 0;
    if (!digits(x, p + 1, 2, 2, &zh)) return 0;
    size_t q = p + 3;
    if (at(x, q) == ':') q++;
    if (!digits(x, q, 2, 2, &zm)) return 0;
    if (ns == NUL_I64 || zh > 23 || zm > 59) *ts = NUL_I64;
    else *ts = c == '+' ? ns - (zh * 60 + zm) * 60000000000LL : ns + (zh * 60 + zm) * 60000000000LL;
    return q + 2;
}
static int month_of(const Scan *x, size_t i) {
    for (int m = 0; m < 12; m++) if (lit(x, i, MONTHS[m])) return m + 1;
    return 0;
}
/* `Mmm dd`, `Mmm  d` or `Mmm d` at i: end or 0; month (0 if unknown name) and day */
static size_t mon_day(const Scan *x, size_t i, int *month, int64_t *day) {
    int a = at(x, i), b = at(x, i + 1), c = at(x, i + 2);
    if (!(a >= 'A' && a <= 'Z' && b >= 'a' && b <= 'z' && c >= 'a' && c <= 'z')) return 0;
    *month = month_of(x, i);
    size_t p = i + 3;
    if (at(x, p) != ' ') return 0;
    if (digits(x, p + 1, 2, 2, day) == 2) return p + 3;
    if (at(x, p + 1) == ' ' && digits(x, p + 2, 1, 1, day)) return p + 3;
    if (digits(x, p + 1, 1, 1, day)) return p + 2;
    return 0;
}
static size_t hms(const Scan *x, size_t p, int64_t *hh, int64_t *mm, int64_t *ss) {
    if (!digits(x, p, 2, 2, hh) || at(x, p + 2) != ':' || !digits(x, p + 3, 2, 2, mm) || at(x, p + 5) != ':' ||
        !digits(x, p + 6, 2, 2, ss)) return 0;
    return p + 8;
}
static int64_t yearless(const Scan *x, int month, int64_t day, int64_t hh, int64_t mm, int64_t ss, size_t fs,
                        size_t fl, int have_frac) {
    if (!x->has_year || !month || (have_frac && fl > 6)) return NUL_I64;
    return time_ns(x, x->year, month, day, hh, mm, ss, fs, fl);
}

/* ---- envelope ------------------------------------------------------------------------------ */
static int host_char(int c) { return c >= '!' && c <= '~' && c != '[' && c != ']'; }
static int proc_char(int c) { return host_char(c) && c != ':' && c != '=' && c != '"'; }
static size_t run(const Scan *x, size_t p, int (*ok)(int)) { while (p < x->n && ok(x->s[p])) p++; return p; }
static int is_level(const Scan *x, size_t s, size_t e) {
    for (int i = 0; i < 9; i++) if (strlen(LEVELS[i]) == e - s && memcmp(x->s + s, LEVELS[i], e - s) == 0) return i + 1;
    return 0;
}
static void set(int64_t *row, int col, size_t s, size_t e) { row[col] = (int64_t)s; row[col + 1] = (int64_t)(e - s); }

/* host process[pid]: at p; returns position after ':' or 0 */
static size_t host_proc(const Scan *x, size_t p, int64_t *row) {
    size_t h = run(x, p, host_char);
    if (h == p || at(x, h) != ' ') return 0;
    set(row, HOST_START, p, h);
    size_t q = h + 1, e = run(x, q, proc_char);
    if (e == q) return 0;
    set(row, PROC_START, q, e);
    if (at(x, e) == '[') {
        int64_t pid; size_t k = digits(x, e + 1, 1, 18, &pid);
        if (!k || at(x, e + 1 + k) != ']') return 0;
        row[PID] = pid; e += k + 2;
    }
    if (at(x, e) != ':') return 0;
    if (is_level(x, q, row[PROC_START] + row[PROC_LEN])) return (size_t)-1;
    return e + 1;
}
static int body_start_ok(const Scan *x, size_t b) {
    int c = at(x, b + 1);
    return at(x, b) == ' ' && c != -1 && c != ' ' && c != '\t' && c != '\n';
}
static size_t find(const Scan *x, size_t from, const char *t) {
    size_t k = strlen(t);
    for (size_t i = from; i + k <= x->n; i++) if (memcmp(x->s + i, t, k) == 0) return i;
    return (size_t)-1;
}
/* returns body start, or (size_t)-1 to decline */
static size_t envelope(Scan *x, int64_t *row) {
    const size_t NO = (size_t)-1;
    int64_t ts; size_t p, b;
    if ((p = rfc3339(x, 0, &ts)) && at(x, p) == ' ') {
        row[DIALECT] = 1; row[TS] = ts; set(row, TS_START, 0, p);
        b = host_proc(x, p + 1, row);
        if (!b || b == NO) return NO;
        b = b;
    } else if (at(x, 0) == '<') {
        size_t k = digits(x, 1, 1, 3, NULL);
        if (!k || !lit(x, 1 + k, ">1 ")) return NO;
        size_t t = 4 + k;
        if (!(p = rfc3339(x, t, &ts)) || at(x, p) != ' ') return NO;
        row[DIALECT] = 3; row[TS] = ts; set(row, TS_START, t, p);
        size_t h = run(x, p + 1, host_char);
        if (h == p + 1 || at(x, h) != ' ') return NO;
        set(row, HOST_START, p + 1, h);
        size_t a = h + 1, ae = a;
        while (ae < x->n && x->s[ae] >= '!' && x->s[ae] <= '~') ae++;
        if (ae == a || at(x, ae) != ' ') return NO;
        set(row, PROC_START, a, ae);
        size_t q = ae + 1;
        if (at(x, q) == '-') q++;
        else { int64_t pid; size_t d = digits(x, q, 1, 18, &pid); if (!d) return NO; row[PID] = pid; q += d; }
        if (at(x, q) != ' ') return NO;
        size_t m = q + 1, me = m;
        while (me < x->n && x->s[me] >= '!' && x->s[me] <= '~') me++;
        if (me == m || !lit(x, me, " - ")) return NO;
        b = me + 3;
        if (lit(x, b, "\xef\xbb\xbf")) b += 3;
        int c = at(x, b);
        if (!((c >= '!' && c <= '~') || c >= 0x80)) return NO;
        return b;
    } else if (at(x, 0) == '[') {
        int month; int64_t day, hh, mm, ss;
        size_t q = mon_day(x, 1, &month, &day);
        if (!q || at(x, q) != ' ' || !(q = hms(x, q + 1, &hh, &mm, &ss))) return NO;
        size_t fs = 0, fl = 0; int have = 0;
        if (at(x, q) == '.' && is_digit(at(x, q + 1))) {
            fl = digits(x, q + 1, 1, 10, NULL);
            if (fl > 9) return NO;
            fs = q + 1; have = 1; q += 1 + fl;
        }
        if (at(x, q) != ']') return NO;
        row[DIALECT] = 4; set(row, TS_START, 1, q);
        row[TS] = yearless(x, month, day, hh, mm, ss, fs, fl, have);
        b = q + 1;
    } else {
        int month; int64_t day, hh, mm, ss;
        size_t q = mon_day(x, 0, &month, &day);
        if (!q || at(x, q) != ' ' || !(q = hms(x, q + 1, &hh, &mm, &ss)) || at(x, q) != ' ') return NO;
        row[DIALECT] = 2; set(row, TS_START, 0, q);
        b = host_proc(x, q + 1, row);
        if (!b || b == NO || !month) return NO;
        size_t u = find(x, b, "UTCTime=\"");
        if (u != NO) {
            int64_t y, mo, d, h2, m2, s2; size_t r = u + 9;
            if (!digits(x, r, 4, 4, &y) || at(x, r + 4) != '-' || !digits(x, r + 5, 2, 2, &mo) ||
                at(x, r + 7) != '-' || !digits(x, r + 8, 2, 2, &d) || at(x, r + 10) != ' ') return NO;
            size_t e = hms(x, r + 11, &h2, &m2, &s2);
            if (!e) return NO;
            size_t fs = 0, fl = 0;
            if (at(x, e) == ',' && is_digit(at(x, e + 1))) {
                fl = digits(x, e + 1, 1, 10, NULL);
                if (fl > 9) return NO;
                fs = e + 1; e += 1 + fl;
            }
            if (at(x, e) != '"') return NO;
            int64_t ns = time_ns(x, y, mo, d, h2, m2, s2, fs, fl);
            if (ns == NUL_I64) return NO;
            row[TS] = ns; set(row, TS_START, r, e);
        } else {
            row[TS] = yearless(x, month, day, hh, mm, ss, 0, 0, 1);
        }
    }
    if (!body_start_ok(x, b)) return NO;
    return b + 1;
}

/* ---- bodies -------------------------------------------------------------------------------- */
static int key_first(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int key_char(int c) { return key_first(c) || is_digit(c) || c == '.' || c == '-'; }
static int message(const Scan *x, size_t p, int64_t *row) {
    if (p >= x->n || !fits_end(x) || is_uspace(first_cp(x->s + p, x->n - p))) return 0;
    set(row, MSG_START, p, x->n);
    return 1;
}
static int marker(const Scan *x, size_t p, char lead, size_t *after, int *which) {
    if (at(x, p) != lead) return 0;
    if (lit(x, p + 1, "HTTPMSG:")) { *after = p + 9; *which = 0; return 1; }
    if (lit(x, p + 1, "SIPMSG:")) { *after = p + 8; *which = 1; return 1; }
    return 0;
}
static int shape_id(Scan *x, const Span *keys, int nkeys, const int *msgkey) {
    /* the key sequence as "k\0k\0" (msgkey[i] >= 0: HTTPMSG/SIPMSG) */
    size_t len = 0;
    for (int i = 0; i < nkeys; i++) len += (msgkey[i] >= 0 ? (msgkey[i] ? 6 : 7) : keys[i].len) + 1;
    if (grow(&x->arena, len)) return -2;
    char *k = x->arena.data + x->arena.len, *w = k;
    for (int i = 0; i < nkeys; i++) {
        if (msgkey[i] >= 0) { const char *t = msgkey[i] ? "SIPMSG" : "HTTPMSG"; memcpy(w, t, strlen(t)); w += strlen(t); }
        else { memcpy(w, x->s + keys[i].start, keys[i].len); w += keys[i].len; }
        *w++ = 0;
    }
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    for (size_t probe = 0; probe < SHAPE_SLOTS; probe++) {
        size_t slot = (h + probe) % SHAPE_SLOTS;
        if (!x->slots[slot]) {
            if (x->nshapes >= MAX_SHAPES) return -1;
            PyObject *tuple = PyTuple_New(nkeys);
            if (!tuple) return -2;
            const char *r = k;
            for (int i = 0; i < nkeys; i++) {
                PyObject *s = PyUnicode_FromString(r);
                if (!s) { Py_DECREF(tuple); return -2; }
                PyTuple_SET_ITEM(tuple, i, s);
                r += strlen(r) + 1;
            }
            int failed = PyList_Append(x->shapes, tuple);
            Py_DECREF(tuple);
            if (failed) return -2;
            x->slots[slot] = (int64_t)(k - x->arena.data) + 1; x->slot_lens[slot] = len;
            x->slot_ids[slot] = x->nshapes;
            x->arena.len += len;
            return x->nshapes++;
        }
        if (x->slot_lens[slot] == len && memcmp(x->arena.data + x->slots[slot] - 1, k, len) == 0) return x->slot_ids[slot];
    }
    return -1;
}
static int pairs(Scan *x, size_t p, int64_t *row, size_t base) {
    Span keys[MAX_PAIRS + 1]; int64_t spans[2 * (MAX_PAIRS + 1)]; int msgkey[MAX_PAIRS + 1];
    int n = 0;
    for (;;) {
        if (n >= MAX_PAIRS || !key_first(at(x, p))) return 0;
        size_t ke = run(x, p + 1, key_char);
        if (!lit(x, ke, "=\"")) return 0;
        if ((ke - p == 7 && memcmp(x->s + p, "HTTPMSG", 7) == 0) || (ke - p == 6 && memcmp(x->s + p, "SIPMSG", 6) == 0)) return 0;
        size_t v = ke + 2, ve = v;
        while (ve < x->n && x->s[ve] != '"' && x->s[ve] != '\n') ve++;
        if (at(x, ve) != '"') return 0;
        keys[n].start = p; keys[n].len = ke - p; msgkey[n] = -1;
        spans[2 * n] = (int64_t)(base + v); spans[2 * n + 1] = (int64_t)(ve - v); n++;
        p = ve + 1;
        if (at(x, p) == ':') p++;
        if (p == x->n) break;
        size_t after; int which;
        if (marker(x, p, ' ', &after, &which) || marker(x, p, '\n', &after, &which)) {
            keys[n].start = 0; keys[n].len = 0; msgkey[n] = which;
            spans[2 * n] = (int64_t)(base + after); spans[2 * n + 1] = (int64_t)(x->n - after); n++;
            break;
        }
        if (at(x, p) != ' ') return 0;
        p++;
    }
    if (memchr(x->s, '\n', x->n) && msgkey[n - 1] < 0) return 0;
    int id = shape_id(x, keys, n, msgkey);
    if (id == -2) return -1;
    if (id < 0) return 0;
    row[SHAPE] = id; row[VALUES_FIRST] = (int64_t)(x->values.len / 16); row[VALUES_COUNT] = n;
    return put_i64(&x->values, spans, 2 * (size_t)n) ? -1 : 1;
}
static int ats_start(const Scan *x, size_t p) {  /* the superset of body_family's ATS test */
    size_t q = p; int c = at(x, p);
    if (c == '[') {
        size_t e = p + 1;
        while (e < x->n && x->s[e] != ']' && x->s[e] != '\n') e++;
        if (e > p + 1 && at(x, e) == ']') q = e + 1;  /* `[ET_NET 0]DEBUG:`: spaces may be lost */
    } else if (c == '{' && lit(x, p + 1, "0x")) {
        size_t e = p + 3;
        while (e < x->n && isxdigit(x->s[e])) e++;
        if (e > p + 3 && at(x, e) == '}') q = e + 1;
    } else if (key_first(c)) {
        size_t e = p + 1;
        while (e < x->n && x->s[e] != ' ' && x->s[e] != '\t' && x->s[e] != '\n') e++;
        if (at(x, e) == ' ') q = e;
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t r = q;
        while (at(x, r) == ' ' && q != p) r++;
        size_t e = r;
        while (at(x, e) >= 'A' && at(x, e) <= 'Z') e++;
        if (e > r && at(x, e) == ':') return 1;
        if (q == p) break;
        q = p;
    }
    return 0;
}
static int level_at(const Scan *x, size_t p, size_t *after) {
    for (int i = 0; i < 9; i++) {
        size_t k = strlen(LEVELS[i]);
        if (lit(x, p, LEVELS[i]) && lit(x, p + k, ": ")) {
            int c = at(x, p + k + 2);
            if (c == -1 || c == ' ' || c == '\t') return 0;
            *after = p + k + 2; return i + 1;
        }
    }
    return 0;
}
static int server_char(int c) { return c >= '!' && c <= '~' && c != '(' && c != ')'; }
/* `server=name(ip)` at p; end or 0 */
static size_t server(const Scan *x, size_t p, int64_t *row) {
    if (!lit(x, p, "server=")) return 0;
    size_t a = p + 7, ae = run(x, a, server_char);
    if (at(x, ae) != '(') return 0;
    size_t b = ae + 1, be = run(x, b, server_char);
    if (at(x, be) != ')') return 0;
    set(row, SERVER_START, a, ae); set(row, IP_START, b, be);
    return be + 1;
}
static size_t paren(const Scan *x, size_t p, size_t *s, size_t *e) {  /* `(...)` at p */
    if (at(x, p) != '(') return 0;
    size_t q = p + 1;
    while (q < x->n && x->s[q] != ')' && x->s[q] != '\n') q++;
    if (at(x, q) != ')') return 0;
    *s = p + 1; *e = q;
    return q + 1;
}
static size_t action(const Scan *x, size_t p, int64_t *row) {
    if (!lit(x, p, "Action=")) return 0;
    size_t a = p + 7, e = a;
    while (e < x->n && ((x->s[e] >= 'A' && x->s[e] <= 'Z') || (x->s[e] >= 'a' && x->s[e] <= 'z'))) e++;
    if (e == a) return 0;
    set(row, ACTION_START, a, e);
    return e;
}
/* An opening word of the known messages, however spaced (pyscan's _LOOSE_OPENING). */
static int loose_opening(const Scan *x, size_t m) {
    static const char *WORDS[] = {"Core", "SSL", "SNI", "SAN", "Origin"};
    for (size_t i = 0; i < sizeof WORDS / sizeof *WORDS; i++) {
        size_t k = strlen(WORDS[i]);
        int after = at(x, m + k);
        if (lit(x, m, WORDS[i]) && (after == ' ' || after == '\t' || after == '(')) return 1;
    }
    return 0;
}
static int ats(const Scan *x, size_t p, int64_t *row) {
    size_t m = 0; int level = 0; int c = at(x, p);
    if (c == '[') {
        size_t e = p + 1;
        while (e < x->n && x->s[e] >= ' ' && x->s[e] <= '~' && x->s[e] != ']') e++;
        if (e > p + 1 && at(x, e) == ']' && at(x, e + 1) == ' ' && (level = level_at(x, e + 2, &m))) set(row, THREAD_START, p + 1, e);
    } else if (c == '{' && lit(x, p + 1, "0x")) {
        size_t e = p + 3;
        while (e < x->n && isxdigit(x->s[e])) e++;
        if (e > p + 3 && at(x, e) == '}' && at(x, e + 1) == ' ' && (level = level_at(x, e + 2, &m))) set(row, THREAD_START, p + 1, e);
    } else if (key_first(c)) {
        size_t e = run(x, p + 1, key_char);
        if (at(x, e) == ' ' && (level = level_at(x, e + 1, &m))) set(row, PROGRAM_START, p, e);
    }
    if (!level && !(level = level_at(x, p, &m))) return 0;
    row[LEVEL] = level;
    if (at(x, m) == '<' || at(x, m) == '(') return 0;
    static const char *VERIFY = "Core server certificate verification failed for ";
    static const char *SSL = "SSL connection failed for ";
    int name_check = lit(x, m, "SNI (") ? 1 : lit(x, m, "SAN (") ? 2 : lit(x, m, "Origin hostname (") ? 3 : 0;
    if (!lit(x, m, VERIFY) && !lit(x, m, SSL) && !name_check) {
        if (loose_opening(x, m)) return 0;  /* the grammar reads spaced or tabbed openings: decline */
        row[KIND] = 0; return message(x, m, row);
    }
    if (!fits_end(x)) return 0;
    size_t s, e, q;
    if (lit(x, m, VERIFY)) {
        if (!(q = paren(x, m + strlen(VERIFY), &s, &e)) || !lit(x, q, ". ")) return 0;
        set(row, F1_START, s, e);
        if (!(q = action(x, q + 2, row)) || !lit(x, q, " Error=")) return 0;
        size_t err = q + 7, sv = find(x, err, " server=");
        if (sv == (size_t)-1 || sv == err) return 0;
        set(row, F3_START, err, sv);
        if (!(q = server(x, sv + 1, row)) || !lit(x, q, " depth=")) return 0;
        q += 7;
        int neg = at(x, q) == '-';
        int64_t depth; size_t k = digits(x, q + neg, 1, 18, &depth);
        if (!k || q + neg + k != x->n) return 0;
        row[KIND] = 1; row[DEPTH] = neg ? -depth : depth;
        return 1;
    }
    if (name_check) {
        size_t open = m + (name_check == 3 ? 16 : 4);
        if (!(q = paren(x, open, &s, &e)) || !lit(x, q, " not in certificate. ")) return 0;
        set(row, F1_START, s, e);
        if (!(q = action(x, q + 21, row)) || at(x, q) != ' ' || !(q = server(x, q + 1, row)) || q != x->n) return 0;
        row[KIND] = 2; row[NAME_CHECK] = name_check;
        return 1;
    }
    q = m + strlen(SSL);
    int quote = at(x, q);
    if (quote != '\'' && quote != '"') return 0;
    e = q + 1;
    while (e < x->n && x->s[e] != quote && x->s[e] != '\n') e++;
    if (at(x, e) != quote || !lit(x, e + 1, ": ")) return 0;
    int after = at(x, e + 3);
    if (after == -1 || after == ' ' || after == '\t') return 0;
    set(row, F1_START, q + 1, e); set(row, F3_START, e + 3, x->n);
    row[KIND] = 3;
    return 1;
}

/* ---- events ------------------------------------------------------------------------------- */
static const size_t SPAN_COLS[] = {TS_START, HOST_START, PROC_START, THREAD_START, PROGRAM_START, MSG_START,
                                   F1_START, ACTION_START, F3_START, SERVER_START, IP_START};
static int decline(Scan *x, size_t start, size_t len, int64_t line, int64_t reason) {
    int64_t v[4] = {(int64_t)start, (int64_t)len, line, reason};
    return put_i64(&x->declined, v, 4);
}
/* A second envelope may follow in an ATS or text body (events flattened onto one line): `]:`, a time
   `<d>T<dd>:<dd>:<dd>` or an ATS diags time `<dd>:<dd>:<dd>(.<d>+)?] ` after the body's start declines it
   (logscope.lines.unwrap.MAY_BE_FLATTENED, which pyscan uses). */
static int diags_time_before(const Scan *x, size_t b, size_t i) {  /* `dd:dd:dd(.d+)?` ends at i */
    size_t k = i, d = 0;
    while (k > b && is_digit(x->s[k - 1])) { k--; d++; }
    if (d > 0 && k > b && x->s[k - 1] == '.') {
        k--; d = 0;
        while (k > b && is_digit(x->s[k - 1])) { k--; d++; }
    }
    size_t e = k + d;  /* where the seconds end */
    if (d < 2 || e < b + 8) return 0;
    const unsigned char *t = x->s + e - 8;
    return is_digit(t[0]) && is_digit(t[1]) && t[2] == ':' && is_digit(t[3]) && is_digit(t[4]) && t[5] == ':'
        && is_digit(t[6]) && is_digit(t[7]);
}
static int flat_tail(const Scan *x, size_t b) {
    for (size_t i = b; i + 1 < x->n; i++) {
        unsigned char c = x->s[i];
        if (c == ']' && x->s[i + 1] == ':') return 1;
        if (c == ']' && x->s[i + 1] == ' ' && diags_time_before(x, b, i)) return 1;  /* a diags time */
        if (c == 'T' && i > b && is_digit(x->s[i - 1]) && i + 8 < x->n && is_digit(x->s[i + 1]) && is_digit(x->s[i + 2])
            && x->s[i + 3] == ':' && is_digit(x->s[i + 4]) && is_digit(x->s[i + 5]) && x->s[i + 6] == ':'
            && is_digit(x->s[i + 7]) && is_digit(x->s[i + 8])) return 1;
    }
    return 0;
}
static int month_at(const unsigned char *b, size_t size, size_t p) {
    if (size - p < 3) return 0;
    for (int i = 0; i < 12; i++) if (memcmp(b + p, MONTHS[i], 3) == 0) return 1;
    return 0;
}
static int digit_at(const unsigned char *b, size_t size, size_t p) { return p < size && is_digit(b[p]); }
/* `Mon +d{1,2} dd:dd:dd` at p: the position after it, or 0 */
static size_t bsd_time(const unsigned char *b, size_t size, size_t p) {
    if (!month_at(b, size, p)) return 0;
    size_t q = p + 3;
    if (q >= size || b[q] != ' ') return 0;
    while (q < size && b[q] == ' ') q++;
    size_t d = q;
    while (q < size && is_digit(b[q]) && q - d < 3) q++;
    if (q - d < 1 || q - d > 2 || q >= size || b[q] != ' ') return 0;
    q++;
    if (size - q < 8 || !is_digit(b[q]) || !is_digit(b[q + 1]) || b[q + 2] != ':' || !is_digit(b[q + 3])
        || !is_digit(b[q + 4]) || b[q + 5] != ':' || !is_digit(b[q + 6]) || !is_digit(b[q + 7])) return 0;
    return q + 8;
}
/* Whether the line at p (after an event) leaves the event whole: the end of the block, a blank line, or
   an envelope read natively. Any other line may be a piece a publisher wrapped off the event above
   (logscope.lines.unwrap), so the event is declined. pyscan's _WHOLE_AFTER. */
static int whole_after(const unsigned char *b, size_t size, size_t p) {
    if (p >= size) return 1;
    unsigned char c = b[p];
    if (c == '\n' || (c == '\r' && (p + 1 == size || b[p + 1] == '\n'))) return 1;
    if (is_digit(c)) {
        static const char *form = "dddd-dd-ddTdd:dd";
        if (size - p < 16) return 0;
        for (int i = 0; i < 16; i++) if (form[i] == 'd' ? !is_digit(b[p + i]) : b[p + i] != form[i]) return 0;
        return 1;
    }
    if (c == '<') {
        size_t q = p + 1;
        while (q < size && is_digit(b[q]) && q - p <= 3) q++;
        return q - p >= 2 && q - p <= 4 && size - q >= 3 && b[q] == '>' && b[q + 1] == '1' && b[q + 2] == ' ';
    }
    if (c == '[') return bsd_time(b, size, p + 1) != 0;
    size_t e = bsd_time(b, size, p);
    return e && e < size && b[e] == ' ';
}
/* Whether every byte is in 0x20-0x7f: eight bytes at a time (a byte under 0x20 borrows into its top
   bit in v - 0x20.., one from 0x80 up has it set in v). */
static int printable_ascii(const unsigned char *s, size_t n) {
    const uint64_t low = 0x2020202020202020ULL, top = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        if ((v | ((v - low) & ~v)) & top) return 0;
    }
    for (; i < n; i++) if (s[i] < 0x20 || s[i] >= 0x80) return 0;
    return 1;
}
static int event(Scan *x, const unsigned char *block, size_t start, size_t end, int64_t line, int multiline,
                 int whole) {
    if (!multiline && end > start && block[end - 1] == '\r') end--;
    size_t n = end - start;
    if (n > MAX_EVENT_BYTES) return decline(x, start, n, line, 1);
    if (!whole) return decline(x, start, n, line, 6);
    const unsigned char *s = block + start;
    if (!printable_ascii(s, n)) {  /* most events are: the byte checks below are for the others */
        if (memchr(s, 0, n)) return decline(x, start, n, line, 2);
        if (!utf8_valid(s, n)) return decline(x, start, n, line, 3);
        for (size_t i = 0; i < n; i++) if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') return decline(x, start, n, line, 4);
        /* a tab in the first line is odd spacing (the grammars read it); continuation lines may start with one */
        for (size_t i = 0; i < n && s[i] != '\n'; i++) if (s[i] == '\t') return decline(x, start, n, line, 4);
    }
    int64_t row[NCOL];
    for (int i = 0; i < NCOL; i++) row[i] = NUL_I64;
    for (size_t i = 0; i < sizeof SPAN_COLS / sizeof *SPAN_COLS; i++) { row[SPAN_COLS[i]] = 0; row[SPAN_COLS[i] + 1] = -1; }
    row[DIALECT] = row[FAMILY] = row[KIND] = row[LEVEL] = row[NAME_CHECK] = 0;
    row[SHAPE] = -1; row[VALUES_FIRST] = 0; row[VALUES_COUNT] = 0;
    row[OFFSET] = (int64_t)start; row[LENGTH] = (int64_t)n; row[LINE] = line;
    x->s = s; x->n = n;
    size_t b = envelope(x, row);
    int ok = 0;
    if (b != (size_t)-1) {
        int c = at(x, b);
        size_t ke = key_first(c) ? run(x, b + 1, key_char) : b;
        if (ke > b && lit(x, ke, "=\"")) { row[FAMILY] = 1; ok = pairs(x, b, row, start); if (ok < 0) return -1; }
        else if (memchr(s, '\n', n) || flat_tail(x, b)) ok = 0;
        else if (ats_start(x, b)) { row[FAMILY] = 2; ok = ats(x, b, row); }
        else { row[FAMILY] = 3; row[KIND] = 0; ok = message(x, b, row); }
    }
    if (!ok) return decline(x, start, n, line, 5);
    for (size_t i = 0; i < sizeof SPAN_COLS / sizeof *SPAN_COLS; i++)
        if (row[SPAN_COLS[i] + 1] >= 0) row[SPAN_COLS[i]] += (int64_t)start;
    return put_i64(&x->events, row, NCOL);
}
static int cont_start(const unsigned char *b, size_t size, size_t p) {
    if (p >= size) return 0;
    if (b[p] == '|' || b[p] == ' ' || b[p] == '\t') return 1;
    return (size - p >= 8 && memcmp(b + p, "HTTPMSG:", 8) == 0) || (size - p >= 7 && memcmp(b + p, "SIPMSG:", 7) == 0);
}
static size_t line_end(const unsigned char *b, size_t size, size_t p) {
    const unsigned char *nl = memchr(b + p, '\n', size - p);
    return nl ? (size_t)(nl - b) : size;
}
static int64_t count_nl(const unsigned char *b, size_t from, size_t to) {
    int64_t c = 0;
    while (from < to) { const unsigned char *nl = memchr(b + from, '\n', to - from); if (!nl) break; c++; from = (size_t)(nl - b) + 1; }
    return c;
}

static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer view; long long line_base = 1; PyObject *needle_obj = Py_None, *year_obj = Py_None;
    if (!PyArg_ParseTuple(args, "y*|LOO", &view, &line_base, &needle_obj, &year_obj)) return NULL;
    Scan *x = PyMem_Calloc(1, sizeof(Scan));
    if (!x) { PyBuffer_Release(&view); return PyErr_NoMemory(); }
    const unsigned char *needle = NULL; Py_ssize_t needle_len = 0;
    if (needle_obj != Py_None && PyBytes_AsStringAndSize(needle_obj, (char **)&needle, &needle_len) < 0) goto fail;
    if (needle && needle_len == 0) needle = NULL;
    if (year_obj != Py_None) { x->year = PyLong_AsLong(year_obj); if (PyErr_Occurred()) goto fail; x->has_year = 1; }
    x->shapes = PyList_New(0);
    if (!x->shapes) goto fail;
    const unsigned char *block = view.buf; size_t size = (size_t)view.len;
    size_t pos = 0, counted = 0; int64_t line = line_base;
    while (pos < size) {
        size_t start = pos;
        if (needle) {
            const unsigned char *hit = memmem(block + pos, size - pos, needle, (size_t)needle_len);
            if (!hit) break;
            size_t h = (size_t)(hit - block);
            while (h > pos && block[h - 1] != '\n') h--;
            start = h;
        }
        size_t end = line_end(block, size, start);
        line += count_nl(block, counted, start); counted = start;
        if (cont_start(block, size, start) || end == start || (end - start == 1 && block[start] == '\r')) { pos = end + 1; continue; }
        size_t last = end;
        while (last + 1 < size && cont_start(block, size, last + 1)) last = line_end(block, size, last + 1);
        if (event(x, block, start, last, line, last != end, whole_after(block, size, last + 1))) { PyErr_NoMemory(); goto fail; }
        pos = last + 1;
    }
    PyObject *result = Py_BuildValue("y#y#Oy#", x->events.data ? x->events.data : "", (Py_ssize_t)x->events.len,
                                     x->values.data ? x->values.data : "", (Py_ssize_t)x->values.len, x->shapes,
                                     x->declined.data ? x->declined.data : "", (Py_ssize_t)x->declined.len);
    Py_XDECREF(x->shapes);
    PyMem_Free(x->events.data); PyMem_Free(x->values.data); PyMem_Free(x->declined.data); PyMem_Free(x->arena.data);
    PyMem_Free(x); PyBuffer_Release(&view);
    return result;
fail:
    Py_XDECREF(x->shapes);
    PyMem_Free(x->events.data); PyMem_Free(x->values.data); PyMem_Free(x->declined.data); PyMem_Free(x->arena.data);
    PyMem_Free(x); PyBuffer_Release(&view);
    return NULL;
}

/* gather(block, starts, lengths, trim=0) -> (offsets, data, edges): the bytes of (start, length)
   spans of `block` (int64 arrays; a negative length is a null, no bytes) laid end to end, with int32
   Arrow offsets. Every span is checked against the block; the total must fit an int32 offset.
   With `trim`, ASCII white space (" \t\n\r\v\f", pyarrow's utf8_trim set in columns.py) is left out
   at both ends of each span, and `edges` is a bytes of one flag per span: 1 where the trimmed value
   starts or ends with a non-ASCII byte (maybe a Unicode space str.strip would also remove); without
   `trim` or when no value has one, `edges` is None. */
static int ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static PyObject *py_gather(PyObject *self, PyObject *args) {
    Py_buffer block, starts, lengths;
    int trim = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*|p", &block, &starts, &lengths, &trim)) return NULL;
    PyObject *result = NULL, *offsets = NULL, *data = NULL, *edges = NULL;
    int64_t *cut = NULL;
    Py_ssize_t n = starts.len / (Py_ssize_t)sizeof(int64_t);
    if (lengths.len != starts.len || starts.len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "gather: starts and lengths must be int64 arrays of one size");
        goto done;
    }
    const int64_t *st = starts.buf, *ln = lengths.buf;
    const unsigned char *src = block.buf;
    int64_t total = 0;
    if (trim && !(cut = PyMem_Malloc(2 * (size_t)(n ? n : 1) * sizeof(int64_t)))) { PyErr_NoMemory(); goto done; }
    int has_edge = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ln[i] < 0) continue;
        if (st[i] < 0 || st[i] > block.len || ln[i] > block.len - st[i]) {
            PyErr_SetString(PyExc_ValueError, "gather: a span is outside the block");
            goto done;
        }
        int64_t s = st[i], e = st[i] + ln[i];
        if (trim) {
            while (s < e && ascii_space(src[s])) s++;
            while (e > s && ascii_space(src[e - 1])) e--;
            cut[2 * i] = s; cut[2 * i + 1] = e;
            if (e > s && (src[s] >= 0x80 || src[e - 1] >= 0x80)) has_edge = 1;
        }
        total += e - s;
        if (total > INT32_MAX) { PyErr_SetString(PyExc_ValueError, "gather: spans over 2 GiB"); goto done; }
    }
    offsets = PyBytes_FromStringAndSize(NULL, (n + 1) * (Py_ssize_t)sizeof(int32_t));
    data = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (!offsets || !data) goto done;
    if (has_edge) {
        edges = PyBytes_FromStringAndSize(NULL, n);
        if (!edges) goto done;
        unsigned char *flag = (unsigned char *)PyBytes_AS_STRING(edges);
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t s = cut[2 * i], e = cut[2 * i + 1];
            flag[i] = ln[i] >= 0 && e > s && (src[s] >= 0x80 || src[e - 1] >= 0x80);
        }
    } else {
        edges = Py_NewRef(Py_None);
    }
    int32_t *off = (int32_t *)PyBytes_AS_STRING(offsets);
    char *out = PyBytes_AS_STRING(data);
    int32_t at = 0;
    off[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ln[i] >= 0) {
            int64_t s = trim ? cut[2 * i] : st[i], e = trim ? cut[2 * i + 1] : st[i] + ln[i];
            if (e > s) { memcpy(out + at, src + s, (size_t)(e - s)); at += (int32_t)(e - s); }
        }
        off[i + 1] = at;
    }
    result = PyTuple_Pack(3, offsets, data, edges);
done:
    PyMem_Free(cut);
    Py_XDECREF(offsets); Py_XDECREF(data); Py_XDECREF(edges);
    PyBuffer_Release(&block); PyBuffer_Release(&starts); PyBuffer_Release(&lengths);
    return result;
}

/* ---- dictionary encoding of spans ----------------------------------------------------------
   encode(block, starts, lengths, trim=0) -> (codes, offsets, data, edges): the (start, length) spans of
   `block` (int64 arrays; a negative length is a null) dictionary-encoded without building a string per
   span: `codes` is one int32 per span (-1: null), the dictionary holds each distinct value once, in order
   of first appearance, as Arrow string buffers (int32 `offsets`, `data`). `trim` and `edges` are
   gather's: ASCII white space left out at both ends, and one flag per dictionary value (not per span)
   where the trimmed value starts or ends with a non-ASCII byte (None when none does).
   encode_fields and encode_at encode several columns in one pass over the rows, so each row's bytes
   are read once for all of them. Every span is checked against the block and every index against the
   spans; a dictionary's table grows with its distinct values (it stays small and in cache), its values
   are kept in its own data buffer (compared there, not at their first place in the block), and its
   data is bounded by int32 offsets. */
static uint64_t span_hash(const unsigned char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        h = (h ^ v) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    for (size_t k = 0; i + k < n; k++) tail |= (uint64_t)s[i + k] << (8 * k);
    h = (h ^ tail) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

typedef struct {
    uint64_t *table;  /* slot -> (value index + 1) | hash's top 32 bits << 32; 0: empty */
    size_t slots;
    Buf data, offsets, hashes; /* the values end to end, int32 offsets (count + 1), uint64 hash per value */
    int32_t count;
    PyObject *codes;  /* bytes: int32 per row, written in place */
} Dict;

static void dict_free(Dict *d) {
    PyMem_Free(d->table); PyMem_Free(d->data.data); PyMem_Free(d->offsets.data); PyMem_Free(d->hashes.data);
    Py_XDECREF(d->codes);
}
static int dict_init(Dict *d, Py_ssize_t rows) {
    memset(d, 0, sizeof *d);
    d->slots = 256;
    d->table = PyMem_Calloc(d->slots, sizeof(uint64_t));
    int32_t zero = 0;
    if (!d->table || grow(&d->offsets, sizeof(int32_t))) return -1;
    if (!(d->codes = PyBytes_FromStringAndSize(NULL, rows * (Py_ssize_t)sizeof(int32_t)))) return -1;
    memcpy(d->offsets.data, &zero, sizeof zero);
    d->offsets.len = sizeof zero;
    return 0;
}
static int dict_rehash(Dict *d) {
    if (d->slots > SIZE_MAX / 2 / sizeof(uint64_t)) return -1;
    size_t slots = d->slots * 2, mask = slots - 1;
    uint64_t *table = PyMem_Calloc(slots, sizeof(uint64_t));
    if (!table) return -1;
    const uint64_t *hashes = (const uint64_t *)d->hashes.data;
    for (int32_t k = 0; k < d->count; k++) {
        size_t slot = (size_t)hashes[k] & mask;
        while (table[slot]) slot = (slot + 1) & mask;
        table[slot] = (uint64_t)(k + 1) | (hashes[k] >> 32 << 32);
    }
    PyMem_Free(d->table);
    d->table = table; d->slots = slots;
    return 0;
}
/* The code of value s[0..n) (added when new), or -1: out of memory or over 2 GiB of values. */
static int32_t dict_code(Dict *d, const unsigned char *s, size_t n) {
    uint64_t h = span_hash(s, n), tag = h >> 32 << 32;
    size_t mask = d->slots - 1, slot = (size_t)h & mask;
    const int32_t *off = (const int32_t *)d->offsets.data;
    while (d->table[slot]) {
        uint64_t entry = d->table[slot];
        if ((entry & 0xFFFFFFFF00000000ULL) == tag) {
            int32_t k = (int32_t)(entry & 0xFFFFFFFFULL) - 1;
            if ((size_t)(off[k + 1] - off[k]) == n && (n == 0 || memcmp(d->data.data + off[k], s, n) == 0)) return k;
        }
        slot = (slot + 1) & mask;
    }
    if (n > (size_t)INT32_MAX - d->data.len || d->count == INT32_MAX - 1) return -1;
    if (grow(&d->data, n) || grow(&d->offsets, sizeof(int32_t)) || grow(&d->hashes, sizeof(uint64_t))) return -1;
    if (n) memcpy(d->data.data + d->data.len, s, n);  /* an empty value may come before any data */
    d->data.len += n;
    int32_t end = (int32_t)d->data.len, k = d->count++;
    memcpy(d->offsets.data + d->offsets.len, &end, sizeof end);
    d->offsets.len += sizeof end;
    memcpy(d->hashes.data + d->hashes.len, &h, sizeof h);
    d->hashes.len += sizeof h;
    d->table[slot] = (uint64_t)(k + 1) | tag;
    if ((size_t)d->count * 2 > d->slots && dict_rehash(d)) return -1;
    return k;
}
/* (codes, offsets, data, edges) of a finished dictionary (edges: None without `trim`), or NULL. */
static PyObject *dict_result(const Dict *d, int trim) {
    PyObject *codes = Py_NewRef(d->codes);
    PyObject *offsets = PyBytes_FromStringAndSize(d->offsets.data, (Py_ssize_t)d->offsets.len);
    PyObject *data = PyBytes_FromStringAndSize(d->data.data ? d->data.data : "", (Py_ssize_t)d->data.len);
    PyObject *edges = NULL, *result = NULL;
    if (!codes || !offsets || !data) goto done;
    const int32_t *off = (const int32_t *)d->offsets.data;
    const unsigned char *bytes = (const unsigned char *)d->data.data;
    int has_edge = 0;
    for (int32_t k = 0; trim && k < d->count && !has_edge; k++)
        has_edge = off[k + 1] > off[k] && (bytes[off[k]] >= 0x80 || bytes[off[k + 1] - 1] >= 0x80);
    if (has_edge) {
        edges = PyBytes_FromStringAndSize(NULL, d->count);
        if (!edges) goto done;
        unsigned char *flag = (unsigned char *)PyBytes_AS_STRING(edges);
        for (int32_t k = 0; k < d->count; k++)
            flag[k] = off[k + 1] > off[k] && (bytes[off[k]] >= 0x80 || bytes[off[k + 1] - 1] >= 0x80);
    } else {
        edges = Py_NewRef(Py_None);
    }
    result = PyTuple_Pack(4, codes, offsets, data, edges);
done:
    Py_XDECREF(codes); Py_XDECREF(offsets); Py_XDECREF(data); Py_XDECREF(edges);
    return result;
}

/* Where the spans of a pass come from. Row i, column j: its span is the pair (start, length) at
   `spans + 2 * k` with k = index[i * width + j] (an index of -1 is a null) when `index` is given,
   else (starts, lengths) = (spans[i * width + column[j]], spans[i * width + column[j] + 1]). */
typedef struct {
    const int64_t *spans;
    Py_ssize_t nspans;     /* int64s readable at `spans` */
    const int64_t *index;
    Py_ssize_t rows, width;
    const Py_ssize_t *column;
    Py_ssize_t ncolumns;
} Pass;

#define MAX_ENCODED 64
/* Rows ahead whose bytes are asked for before they are read: a block is larger than the caches, so a
   row's values are a trip to memory, made for several rows at once instead of one after another. */
#define AHEAD 8
static void prefetch_row(const Py_buffer *block, const Pass *p, Py_ssize_t i) {
    const unsigned char *bytes = block->buf;
    for (Py_ssize_t j = 0; j < p->ncolumns; j++) {
        int64_t st;
        if (p->index) {
            if (i + AHEAD < p->rows) {  /* the span itself, for when this row's turn to be prefetched comes */
                int64_t later = p->index[(i + AHEAD) * p->width + j];
                if (later >= 0 && later < p->nspans / 2) __builtin_prefetch(p->spans + 2 * later);
            }
            int64_t k = p->index[i * p->width + j];
            if (k < 0 || k >= p->nspans / 2) continue;
            st = p->spans[2 * k];
        } else {
            st = p->spans[i * p->width + p->column[j]];
        }
        if (st >= 0 && st < block->len) __builtin_prefetch(bytes + st);
    }
}
/* A tuple of one encoding per column, or NULL with an exception set. */
static PyObject *encode_pass(const Py_buffer *block, const Pass *p, int trim) {
    Dict dicts[MAX_ENCODED];
    Py_ssize_t ready = 0;
    PyObject *result = NULL;
    if (p->ncolumns > MAX_ENCODED || p->rows > INT32_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "encode: too many columns or rows");
        return NULL;
    }
    int32_t *codes[MAX_ENCODED];
    for (; ready < p->ncolumns; ready++) {
        if (dict_init(&dicts[ready], p->rows)) { ready++; if (!PyErr_Occurred()) PyErr_NoMemory(); goto done; }
        codes[ready] = (int32_t *)PyBytes_AS_STRING(dicts[ready].codes);
    }
    const unsigned char *bytes = block->buf;
    for (Py_ssize_t i = 0; i < p->rows; i++) {
        if (i + AHEAD < p->rows) prefetch_row(block, p, i + AHEAD);
        for (Py_ssize_t j = 0; j < p->ncolumns; j++) {
            int64_t st, ln;
            if (p->index) {
                int64_t k = p->index[i * p->width + j];
                if (k < 0) ln = -1, st = 0;
                else if (k >= p->nspans / 2) { PyErr_SetString(PyExc_ValueError, "encode: an index past the spans"); goto done; }
                else st = p->spans[2 * k], ln = p->spans[2 * k + 1];
            } else {
                st = p->spans[i * p->width + p->column[j]];
                ln = p->spans[i * p->width + p->column[j] + 1];
            }
            int32_t code = -1;
            if (ln >= 0) {
                if (st < 0 || st > block->len || ln > block->len - st) {
                    PyErr_SetString(PyExc_ValueError, "encode: a span is outside the block");
                    goto done;
                }
                int64_t s = st, e = st + ln;
                if (trim) {
                    while (s < e && ascii_space(bytes[s])) s++;
                    while (e > s && ascii_space(bytes[e - 1])) e--;
                }
                code = dict_code(&dicts[j], bytes + s, (size_t)(e - s));
                if (code < 0) { PyErr_SetString(PyExc_MemoryError, "encode: out of memory or values over 2 GiB"); goto done; }
            }
            codes[j][i] = code;
        }
    }
    result = PyTuple_New(p->ncolumns);
    if (!result) goto done;
    for (Py_ssize_t j = 0; j < p->ncolumns; j++) {
        PyObject *one = dict_result(&dicts[j], trim);
        if (!one) { Py_CLEAR(result); goto done; }
        PyTuple_SET_ITEM(result, j, one);
    }
done:
    for (Py_ssize_t j = 0; j < ready; j++) dict_free(&dicts[j]);
    return result;
}
static PyObject *py_encode(PyObject *self, PyObject *args) {
    Py_buffer block, starts, lengths;
    int trim = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*|p", &block, &starts, &lengths, &trim)) return NULL;
    PyObject *result = NULL, *both = NULL;
    int64_t *pairs = NULL;
    Py_ssize_t n = starts.len / (Py_ssize_t)sizeof(int64_t);
    if (lengths.len != starts.len || starts.len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "encode: starts and lengths must be int64 arrays of one size");
        goto done;
    }
    if (!(pairs = PyMem_Malloc(2 * (size_t)(n ? n : 1) * sizeof(int64_t)))) { PyErr_NoMemory(); goto done; }
    const int64_t *st = starts.buf, *ln = lengths.buf;
    for (Py_ssize_t i = 0; i < n; i++) { pairs[2 * i] = st[i]; pairs[2 * i + 1] = ln[i]; }
    Py_ssize_t column = 0;
    Pass p = {pairs, 2 * n, NULL, n, 2, &column, 1};
    both = encode_pass(&block, &p, trim);
    if (both) result = Py_NewRef(PyTuple_GET_ITEM(both, 0));
done:
    Py_XDECREF(both);
    PyMem_Free(pairs);
    PyBuffer_Release(&block); PyBuffer_Release(&starts); PyBuffer_Release(&lengths);
    return result;
}
/* encode_fields(block, rows, width, columns, trim=0) -> one encoding per column: `rows` is int64, `width`
   per row; column c's span of a row is (row[c], row[c + 1]), as the scanner's event rows hold them. */
static PyObject *py_encode_fields(PyObject *self, PyObject *args) {
    Py_buffer block, rows;
    Py_ssize_t width;
    PyObject *columns;
    int trim = 0;
    if (!PyArg_ParseTuple(args, "y*y*nO!|p", &block, &rows, &width, &PyTuple_Type, &columns, &trim)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t at[MAX_ENCODED], ncolumns = PyTuple_GET_SIZE(columns);
    if (width <= 0 || rows.len % ((Py_ssize_t)sizeof(int64_t) * width) || ncolumns > MAX_ENCODED) {
        PyErr_SetString(PyExc_ValueError, "encode_fields: rows must be int64 rows of `width`, 64 columns at most");
        goto done;
    }
    for (Py_ssize_t j = 0; j < ncolumns; j++) {
        at[j] = PyLong_AsSsize_t(PyTuple_GET_ITEM(columns, j));
        if (at[j] == -1 && PyErr_Occurred()) goto done;
        if (at[j] < 0 || at[j] + 1 >= width) { PyErr_SetString(PyExc_ValueError, "encode_fields: a column outside the row"); goto done; }
    }
    Py_ssize_t n = rows.len / (Py_ssize_t)sizeof(int64_t) / width;
    Pass p = {rows.buf, rows.len / (Py_ssize_t)sizeof(int64_t), NULL, n, width, at, ncolumns};
    result = encode_pass(&block, &p, trim);
done:
    PyBuffer_Release(&block); PyBuffer_Release(&rows);
    return result;
}
/* encode_at(block, spans, index, width, trim=0) -> one encoding per column of `index` (int64, `width`
   per row): its value in a row is the span at that index in `spans` (int64 (start, length) pairs;
   -1: null), so the values of a row's keys are read together, where they are. */
static PyObject *py_encode_at(PyObject *self, PyObject *args) {
    Py_buffer block, spans, index;
    Py_ssize_t width;
    int trim = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*n|p", &block, &spans, &index, &width, &trim)) return NULL;
    PyObject *result = NULL;
    if (spans.len % (Py_ssize_t)(2 * sizeof(int64_t)) || width <= 0 || width > MAX_ENCODED ||
        index.len % ((Py_ssize_t)sizeof(int64_t) * width)) {
        PyErr_SetString(PyExc_ValueError, "encode_at: spans must be int64 pairs, index int64 rows of `width` (<= 64)");
    } else {
        Pass p = {spans.buf, spans.len / (Py_ssize_t)sizeof(int64_t), index.buf,
                  index.len / (Py_ssize_t)sizeof(int64_t) / width, width, NULL, width};
        result = encode_pass(&block, &p, trim);
    }
    PyBuffer_Release(&block); PyBuffer_Release(&spans); PyBuffer_Release(&index);
    return result;
}

/* renumber(codes, count) -> (order, renumbered, validity): the codes 0..count-1 that `codes` (int32,
   -1: null) holds, in order of first appearance (int32 `order`), each code replaced by its place in
   that order (int32 `renumbered`, -1 kept), and an Arrow validity bitmap of the non-null codes (None
   when none is null). A code outside 0..count-1 other than -1 is an error. */
static PyObject *py_renumber(PyObject *self, PyObject *args) {
    Py_buffer codes;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "y*n", &codes, &count)) return NULL;
    PyObject *result = NULL, *order = NULL, *renumbered = NULL, *validity = NULL;
    int32_t *rank = NULL;
    if (codes.len % (Py_ssize_t)sizeof(int32_t) || count < 0 || count > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "renumber: codes must be int32, count in 0..2**31-1");
        goto done;
    }
    Py_ssize_t n = codes.len / (Py_ssize_t)sizeof(int32_t);
    rank = PyMem_Malloc(((size_t)count + 1) * sizeof(int32_t));
    order = PyBytes_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int32_t));
    renumbered = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int32_t));
    validity = PyBytes_FromStringAndSize(NULL, (n + 7) / 8);
    if (!rank) { PyErr_NoMemory(); goto done; }
    if (!order || !renumbered || !validity) goto done;
    for (Py_ssize_t k = 0; k < count; k++) rank[k] = -1;
    const int32_t *c = codes.buf;
    int32_t *out = (int32_t *)PyBytes_AS_STRING(renumbered), *first = (int32_t *)PyBytes_AS_STRING(order);
    unsigned char *bits = (unsigned char *)PyBytes_AS_STRING(validity);
    memset(bits, 0, (size_t)(n + 7) / 8);
    int32_t found = 0;
    Py_ssize_t nulls = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t k = c[i];
        if (k == -1) { out[i] = -1; nulls++; continue; }
        if (k < 0 || k >= count) { PyErr_SetString(PyExc_ValueError, "renumber: a code out of range"); goto done; }
        if (rank[k] < 0) { rank[k] = found; first[found++] = k; }
        out[i] = rank[k];
        bits[i >> 3] |= (unsigned char)(1u << (i & 7));
    }
    if (_PyBytes_Resize(&order, found * (Py_ssize_t)sizeof(int32_t))) goto done;
    if (!nulls) Py_SETREF(validity, Py_NewRef(Py_None));
    result = PyTuple_Pack(3, order, renumbered, validity);
done:
    PyMem_Free(rank);
    Py_XDECREF(order); Py_XDECREF(renumbered); Py_XDECREF(validity);
    PyBuffer_Release(&codes);
    return result;
}

/* How many `\n` the `n` bytes at `p` hold (memchr: a vectorized search in the C library). */
static int64_t count_line_ends(const unsigned char *p, size_t n) {
    int64_t count = 0;
    const unsigned char *end = p + n, *at;
    while (p < end && (at = memchr(p, '\n', (size_t)(end - p)))) { count++; p = at + 1; }
    return count;
}

/* lines_holding(block, words) -> bytes of int64 pairs: (the start offset, the number of `\n` before
   it) of each line of `block` that holds one of `words` (a tuple of non-empty lower-case bytes
   without a line end), ASCII letters matched in any case (as a search in bytes.lower() of the
   block), in block order, each line once. The line ends are counted up to the last line found only.
   One pass: each word is looked for at the pairs of bytes equal (in any case) to its rarest pair
   (by English letter frequency), through a 64 KiB table that gives, per pair of bytes, the first
   word anchored on it (each case of the pair heads the same list); only those words are compared
   in full. A window that skips by the
   shortest word (Wu-Manber) ran 4x fewer instructions and was slower: its shifts are branches
   the processor cannot predict. */
static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int rarity(unsigned char c) {
    static const char *COMMON = "etaoinsrhldcumfpgwybvkxjqz";
    const char *at = c ? strchr(COMMON, c) : NULL;
    return at ? (int)(at - COMMON) : 0;
}
static PyObject *py_lines_holding(PyObject *self, PyObject *args) {
    Py_buffer block; PyObject *words;
    if (!PyArg_ParseTuple(args, "y*O!", &block, &PyTuple_Type, &words)) return NULL;
    Py_ssize_t nwords = PyTuple_GET_SIZE(words);
    const unsigned char *w[64]; size_t wl[64], anchor[64];
    signed char next[64], bucket[65536];  /* per pair of bytes, its first word (-1: none), then next[] */
    Buf out = {0};
    PyObject *result = NULL;
    if (nwords > 64) { PyErr_SetString(PyExc_ValueError, "lines_holding: at most 64 words"); goto done; }
    for (Py_ssize_t k = 0; k < nwords; k++) {
        PyObject *word = PyTuple_GET_ITEM(words, k);
        if (!PyBytes_Check(word) || PyBytes_GET_SIZE(word) < 2 || memchr(PyBytes_AS_STRING(word), '\n', PyBytes_GET_SIZE(word))) {
            PyErr_SetString(PyExc_ValueError, "lines_holding: words must be bytes of two or more, no line end");
            goto done;
        }
        w[k] = (const unsigned char *)PyBytes_AS_STRING(word); wl[k] = (size_t)PyBytes_GET_SIZE(word);
        size_t best = 0;
        for (size_t a = 1; a + 1 < wl[k]; a++)
            if (rarity(w[k][a]) + rarity(w[k][a + 1]) > rarity(w[k][best]) + rarity(w[k][best + 1])) best = a;
        anchor[k] = best;
    }
    memset(bucket, -1, sizeof bucket);
    for (Py_ssize_t k = nwords - 1; k >= 0; k--) {  /* each list in word order */
        unsigned char x = w[k][anchor[k]], y = w[k][anchor[k] + 1];
        unsigned char xs[2] = {x, x >= 'a' && x <= 'z' ? x - 32 : x}, ys[2] = {y, y >= 'a' && y <= 'z' ? y - 32 : y};
        next[k] = bucket[x | (y << 8)];  /* the list every case of this pair heads so far */
        for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) bucket[xs[i] | (ys[j] << 8)] = (signed char)k;
    }
    const unsigned char *b = block.buf; size_t n = (size_t)block.len;
    size_t counted_to = 0;
    int64_t line_ends = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        int k = bucket[b[i] | (b[i + 1] << 8)];
        if (k < 0) continue;
        for (; k >= 0; k = next[k]) {
            size_t a = anchor[k], len = wl[k], j = 0;
            if (i < a || len - a > n - i) continue;
            const unsigned char *at = b + i - a;
            while (j < len && ascii_lower(at[j]) == w[k][j]) j++;
            if (j < len) continue;
            const unsigned char *line = at;
            while (line > b && line[-1] != '\n') line--;
            size_t start = (size_t)(line - b);
            line_ends += count_line_ends(b + counted_to, start - counted_to);
            counted_to = start;
            int64_t found[2] = {(int64_t)start, line_ends};
            if (put_i64(&out, found, 2)) { PyErr_NoMemory(); goto done; }
            const unsigned char *nl = memchr(b + i, '\n', n - i);
            i = nl ? (size_t)(nl - b) : n;  /* the next line's first pair starts after the line end */
            break;
        }
    }
    result = PyBytes_FromStringAndSize(out.data ? out.data : "", (Py_ssize_t)out.len);
done:
    PyMem_Free(out.data);
    PyBuffer_Release(&block);
    return result;
}

static PyMethodDef methods[] = {{"scan", py_scan, METH_VARARGS, "scan(block, line_base, needle, year)"},
                                {"lines_holding", py_lines_holding, METH_VARARGS, "lines_holding(block, words)"},
                                {"gather", py_gather, METH_VARARGS, "gather(block, starts, lengths, trim=0)"},
                                {"encode", py_encode, METH_VARARGS, "encode(block, starts, lengths, trim=0)"},
                                {"encode_fields", py_encode_fields, METH_VARARGS, "encode_fields(block, rows, width, columns, trim=0)"},
                                {"encode_at", py_encode_at, METH_VARARGS, "encode_at(block, spans, index, width, trim=0)"},
                                {"renumber", py_renumber, METH_VARARGS, "renumber(codes, count)"},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cscan", "The compiled block scanner.", -1, methods};
PyMODINIT_FUNC PyInit__cscan(void) { return PyModule_Create(&module); }
