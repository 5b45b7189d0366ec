/*
 * json.c - the one JSON encoder (see json.h).
 *
 * Invariants: every byte appended is ASCII or part of a valid UTF-8
 * sequence of a visible character; the writer never emits a comma or a
 * colon out of place (depth and has_item track it). A tiny validator
 * guards json_field_raw so stored JSON can never break a document.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nightshift/json.h"

/* Decodes one UTF-8 sequence at s (n bytes left): its length and code
 * point, or 0 when the bytes are not UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp_out)
{
    if (s[0] < 0x80) {
        *cp_out = s[0];
        return 1;
    }
    size_t need;
    unsigned min, cp;
    if ((s[0] & 0xe0) == 0xc0)
        need = 2, min = 0x80, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        need = 3, min = 0x800, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        need = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *cp_out = cp;
    return need;
}

bool json_utf8_valid(const void *data, size_t len)
{
    const unsigned char *p = data;
    unsigned cp;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_decode(p + i, len - i, &cp);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* Characters written as \uXXXX although JSON would allow them raw: they
 * reorder, hide or break lines on a terminal that prints the document. */
static bool unsafe_cp(unsigned cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/* Appends the body of a JSON string (no quotes) for bytes s[0..len). */
static bool plain_ascii(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void add_chars(struct ns_buf *b, const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        /* Printable ASCII goes out as it is, a run at a time: most text is
         * that, and a call per byte was the cost of storing a big plan. */
        size_t run = 0;
        while (i + run < len && plain_ascii(s[i + run]))
            run++;
        if (run) {
            buf_add(b, s + i, run);
            i += run;
            continue;
        }
        unsigned cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (!n) {
            buf_adds(b, "\\ufffd"); /* not UTF-8; json_field_bytes keeps the bytes */
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            buf_addc(b, '\\');
            buf_addc(b, (char)cp);
        } else if (cp == '\n') {
            buf_adds(b, "\\n");
        } else if (cp == '\t') {
            buf_adds(b, "\\t");
        } else if (cp == '\r') {
            buf_adds(b, "\\r");
        } else if (unsafe_cp(cp)) {
            buf_addf(b, "\\u%04x", cp);
        } else {
            buf_add(b, s + i, n);
        }
        i += n;
    }
}

void json_init(struct ns_json *j, struct ns_buf *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
}

/* Comma and key before a value at the current depth. */
static void item(struct ns_json *j, const char *key)
{
    if (j->has_item[j->depth])
        buf_addc(j->out, ',');
    j->has_item[j->depth] = true;
    if (key) {
        buf_addc(j->out, '"');
        add_chars(j->out, (const unsigned char *)key, strlen(key));
        buf_adds(j->out, "\":");
    }
}

static void open_c(struct ns_json *j, const char *key, char c)
{
    item(j, key);
    buf_addc(j->out, c);
    if (j->depth + 1 < NS_JSON_MAX_DEPTH)
        j->depth++;
    j->has_item[j->depth] = false;
}

static void close_c(struct ns_json *j, char c)
{
    buf_addc(j->out, c);
    if (j->depth > 0)
        j->depth--;
}

void json_open_object(struct ns_json *j, const char *key)
{
    open_c(j, key, '{');
}

void json_close_object(struct ns_json *j)
{
    close_c(j, '}');
}

void json_open_array(struct ns_json *j, const char *key)
{
    open_c(j, key, '[');
}

void json_close_array(struct ns_json *j)
{
    close_c(j, ']');
}

void json_field_schema(struct ns_json *j, const char *document)
{
    char name[96];
    snprintf(name, sizeof name, "nightshift.%s/%d", document, NS_JSON_SCHEMA);
    json_field_str(j, "schema", name);
}

void json_begin_document(struct ns_json *j, struct ns_buf *out, const char *document)
{
    json_init(j, out);
    json_open_object(j, NULL);
    json_field_schema(j, document);
}

void json_end_document(struct ns_json *j)
{
    json_close_object(j);
    buf_addc(j->out, '\n');
}

void json_field_int(struct ns_json *j, const char *key, int64_t v)
{
    item(j, key);
    buf_addf(j->out, "%lld", (long long)v);
}

void json_field_real(struct ns_json *j, const char *key, double v)
{
    item(j, key);
    if (!isfinite(v)) {
        buf_adds(j->out, "null");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.6f", v);
    /* Trim trailing zeros ("1.500000" -> "1.5", "2.000000" -> "2"). */
    char *dot = strchr(tmp, '.');
    if (dot) {
        char *e = tmp + strlen(tmp) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    if (strcmp(tmp, "-0") == 0)
        strcpy(tmp, "0");
    buf_adds(j->out, tmp);
}

void json_field_time(struct ns_json *j, const char *key, double v)
{
    if (v == 0)
        json_field_null(j, key);
    else
        json_field_real(j, key, v);
}

void json_field_bool(struct ns_json *j, const char *key, bool v)
{
    item(j, key);
    buf_adds(j->out, v ? "true" : "false");
}

void json_field_null(struct ns_json *j, const char *key)
{
    item(j, key);
    buf_adds(j->out, "null");
}

void json_field_int_or_null(struct ns_json *j, const char *key, bool has, int64_t v)
{
    if (has)
        json_field_int(j, key, v);
    else
        json_field_null(j, key);
}

void json_add_string(struct ns_buf *b, const void *s, size_t len)
{
    buf_addc(b, '"');
    add_chars(b, s, len);
    buf_addc(b, '"');
}

/* The old name (util.h), kept for its last callers. */
void buf_add_json_string(struct ns_buf *b, const char *s, size_t len)
{
    json_add_string(b, s, len);
}

static void string_value(struct ns_json *j, const char *key, const void *s, size_t len)
{
    item(j, key);
    json_add_string(j->out, s, len);
}

void json_field_str(struct ns_json *j, const char *key, const char *s)
{
    if (!s)
        json_field_null(j, key);
    else
        string_value(j, key, s, strlen(s));
}

void json_field_b64(struct ns_json *j, const char *key, const void *s, size_t len)
{
    item(j, NULL);
    buf_addc(j->out, '"');
    add_chars(j->out, (const unsigned char *)key, strlen(key));
    buf_adds(j->out, "_b64\":");
    if (!s) {
        buf_adds(j->out, "null");
        return;
    }
    buf_addc(j->out, '"');
    buf_add_base64(j->out, s, len);
    buf_addc(j->out, '"');
}

void json_field_bytes(struct ns_json *j, const char *key, const void *s, size_t len)
{
    if (!s) {
        json_field_null(j, key);
        return;
    }
    string_value(j, key, s, len);
    if (!json_utf8_valid(s, len))
        json_field_b64(j, key, s, len);
}

/* ---- a validator for stored JSON (RFC 8259, depth-bounded) ---- */

static void ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static bool v_value(const char **p, int depth);

static bool v_string(const char **p)
{
    if (**p != '"')
        return false;
    for ((*p)++; **p != '"'; (*p)++) {
        unsigned char c = (unsigned char)**p;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            (*p)++;
            if (**p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    char h = (*p)[i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F')))
                        return false;
                }
                *p += 4;
            } else if (!**p || !strchr("\"\\/bfnrt", **p)) {
                return false;
            }
        }
    }
    (*p)++;
    return true;
}

static bool v_number(const char **p)
{
    const char *s = *p;
    if (**p == '-')
        (*p)++;
    if (**p == '0')
        (*p)++;
    else if (**p >= '1' && **p <= '9')
        while (**p >= '0' && **p <= '9')
            (*p)++;
    else
        return false;
    if (**p == '.') {
        (*p)++;
        if (!(**p >= '0' && **p <= '9'))
            return false;
        while (**p >= '0' && **p <= '9')
            (*p)++;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-')
            (*p)++;
        if (!(**p >= '0' && **p <= '9'))
            return false;
        while (**p >= '0' && **p <= '9')
            (*p)++;
    }
    return *p > s;
}

static bool v_container(const char **p, int depth, char close, bool object)
{
    (*p)++;
    ws(p);
    if (**p == close) {
        (*p)++;
        return true;
    }
    for (;;) {
        ws(p);
        if (object) {
            if (!v_string(p))
                return false;
            ws(p);
            if (**p != ':')
                return false;
            (*p)++;
        }
        if (!v_value(p, depth + 1))
            return false;
        ws(p);
        if (**p == ',') {
            (*p)++;
            continue;
        }
        if (**p != close)
            return false;
        (*p)++;
        return true;
    }
}

static bool v_value(const char **p, int depth)
{
    if (depth > 32)
        return false;
    ws(p);
    switch (**p) {
    case '{':
        return v_container(p, depth, '}', true);
    case '[':
        return v_container(p, depth, ']', false);
    case '"':
        return v_string(p);
    case 't':
        return strncmp(*p, "true", 4) == 0 ? (*p += 4, true) : false;
    case 'f':
        return strncmp(*p, "false", 5) == 0 ? (*p += 5, true) : false;
    case 'n':
        return strncmp(*p, "null", 4) == 0 ? (*p += 4, true) : false;
    default:
        return v_number(p);
    }
}

void json_field_raw(struct ns_json *j, const char *key, const char *json)
{
    if (!json) {
        json_field_null(j, key);
        return;
    }
    const char *p = json;
    bool ok = v_value(&p, 0);
    if (ok) {
        ws(&p);
        ok = *p == '\0';
    }
    if (!ok) {
        json_field_str(j, key, json);
        return;
    }
    item(j, key);
    /* Valid JSON: non-ASCII bytes can only be inside strings, where
     * add_chars re-encodes them; ASCII is copied as it is. */
    const unsigned char *s = (const unsigned char *)json;
    size_t len = strlen(json);
    for (size_t i = 0; i < len;) {
        size_t k = i;
        while (k < len && s[k] >= 0x80)
            k++;
        if (k > i) {
            add_chars(j->out, s + i, k - i);
            i = k;
        } else {
            buf_addc(j->out, (char)s[i++]);
        }
    }
}
