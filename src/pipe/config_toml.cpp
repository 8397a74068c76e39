// config_toml.cpp — TOML config files through toml++; see config_doc.h.
//
// The one C++ file in Pika: Debian packages no C TOML parser, and a
// hand-written one would be the first thing in the tree to get TOML's
// corners (multi-line strings, dotted keys, inline tables) wrong. This file
// only converts toml++'s tree into the C-side pk__cfg_doc; validation lives
// in config.c. No exception crosses the extern "C" boundary.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string_view>

#include <toml++/toml.h>

#include "pipe/config_doc.h"

namespace {

int type_of(const toml::node &n) {
  switch (n.type()) {
  case toml::node_type::string:
    return PK__CFG_STRING;
  case toml::node_type::integer:
    return PK__CFG_INTEGER;
  case toml::node_type::floating_point:
    return PK__CFG_FLOAT;
  case toml::node_type::boolean:
    return PK__CFG_BOOL;
  case toml::node_type::array:
    return PK__CFG_ARRAY;
  case toml::node_type::table:
    return PK__CFG_TABLE;
  case toml::node_type::date:
  case toml::node_type::time:
  case toml::node_type::date_time:
    return PK__CFG_DATETIME;
  default:
    return PK__CFG_NULL;
  }
}

int position(toml::source_index v) {
  return v > 1000000000u ? 0 : static_cast<int>(v);
}

// Copies one node's type, position and scalar value into v.
int fill(pk__cfg_val *v, const toml::node &n) {
  v->type = type_of(n);
  v->line = position(n.source().begin.line);
  v->col = position(n.source().begin.column);
  if (const auto *s = n.as_string()) {
    const std::string &text = s->get();
    return pk__cfg_set_string(v, text.data(), text.size());
  }
  if (const auto *i = n.as_integer())
    v->integer = i->get();
  return PK_OK;
}

int convert(const toml::table &root, pk__cfg_doc *doc) {
  for (auto &&[key, node] : root) {
    const std::string_view k = key.str();
    pk__cfg_item *it = pk__cfg_add_item(doc, k.data(), k.size(),
                                        position(key.source().begin.line),
                                        position(key.source().begin.column));
    if (!it || fill(&it->val, node) != PK_OK)
      return PK_ENOMEM;
    if (const auto *arr = node.as_array()) {
      for (const toml::node &el : *arr) {
        pk__cfg_val *ev = pk__cfg_add_elem(it);
        if (!ev || fill(ev, el) != PK_OK)
          return PK_ENOMEM;
      }
    }
  }
  return PK_OK;
}

} // namespace

extern "C" int pk__config_parse_toml(const char *text, size_t len,
                                     const char *path, pk__cfg_doc *doc,
                                     pk_errmsg *e) {
  try {
    const toml::table root =
        toml::parse(std::string_view(text, len), std::string_view(path));
    if (convert(root, doc) != PK_OK)
      return pk_errmsg_set(e, PK_ENOMEM, "%s: out of memory", path);
    return PK_OK;
  } catch (const toml::parse_error &err) {
    const std::string_view what = err.description();
    const toml::source_position &at = err.source().begin;
    return pk_errmsg_set(e, PK_EINVAL, "%s:%d:%d: %.*s", path,
                         position(at.line), position(at.column),
                         static_cast<int>(what.size()), what.data());
  } catch (const std::bad_alloc &) {
    return pk_errmsg_set(e, PK_ENOMEM, "%s: out of memory", path);
  } catch (const std::exception &err) {
    return pk_errmsg_set(e, PK_EINVAL, "%s: cannot parse TOML: %s", path,
                         err.what());
  } catch (...) {
    return pk_errmsg_set(e, PK_EINVAL, "%s: cannot parse TOML", path);
  }
}
