/*
 * secret.h — where a command gets a password or key: --password-file,
 * the PIKA_PASSWORD environment variable, a key file, or a prompt on the
 * terminal with echo off. Never from the command line, where other users
 * can read it in /proc.
 */
#ifndef PIKA_CMD_SECRET_H
#define PIKA_CMD_SECRET_H

#include "base/error.h"
#include "pipe/archive.h"

typedef struct pk_secret_source {
  const char *password_file; /* --password-file, or NULL */
  const char *key_file;      /* --key-file, or NULL */
  int confirm;               /* a prompt asks twice (new archives) */
} pk_secret_source;

/* Fills *s from src: key file first, then password file, then
 * PIKA_PASSWORD, then (if `need` and a terminal is there) a prompt.
 * With nothing given and !need, s->kind is PK_SECRET_NONE. The password
 * buffer is owned by s: release it with pk_secret_release(). */
int pk_secret_get(const pk_secret_source *src, int need, pk_secret *s,
                  pk_errmsg *e);
void pk_secret_release(pk_secret *s);

#endif /* PIKA_CMD_SECRET_H */
