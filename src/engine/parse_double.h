/*
 * parse_double.h — decimal text to the nearest double, through Debian's
 * fast_float (libfast-float-dev, the parser inside GCC's from_chars and
 * DuckDB): correctly rounded, like strtod, at a fraction of its cost and
 * without strtod's locale.
 */
#ifndef PIKA_ENGINE_PARSE_DOUBLE_H
#define PIKA_ENGINE_PARSE_DOUBLE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Parses the number that starts at p (before end) in fast_float's general
 * format (also "inf" and "nan": callers that want only digits check the
 * grammar first). Returns the first character after it, with *out set, or
 * NULL when p does not start a number. */
const char *pk_parse_double(const char *p, const char *end, double *out);

#ifdef __cplusplus
}
#endif

#endif /* PIKA_ENGINE_PARSE_DOUBLE_H */
