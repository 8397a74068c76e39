// parse_double.cpp — see parse_double.h.
//
// C++ because fast_float is a C++ header library; this file only adapts
// its from_chars to a C signature. from_chars does not throw.
#include <fast_float/fast_float.h>
#include <system_error>

#include "engine/parse_double.h"

extern "C" const char *pk_parse_double(const char *p, const char *end,
                                       double *out) {
  fast_float::from_chars_result r = fast_float::from_chars(p, end, *out);
  return r.ec == std::errc() ? r.ptr : nullptr;
}
