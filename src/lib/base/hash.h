/* FNV-1a, the one string hash of the tree: strmap's buckets and (finished
 * with an avalanche in k8s/names.c) every deterministic name and address. */
#ifndef NSLAB_HASH_H
#define NSLAB_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV64_INIT 14695981039346656037ull
#define FNV32_INIT 2166136261u

/* Plain 64-bit FNV-1a of a NUL-terminated string. */
uint64_t fnv1a64 (const char *s);
/* The same over N bytes, continuing from H (FNV64_INIT to start). */
uint64_t fnv1a64_mem (const void *p, size_t n, uint64_t h);
/* A hash of N bytes from H (0 to start) eight bytes at a time, several
 * times faster than FNV-1a over long inputs: for what lives in one
 * process's memory only (strmap's buckets, the loop's op keys and rule
 * digests). Never for a name, an address or anything stored, whose hash
 * must stay FNV-1a's. */
uint64_t hash64_mem (const void *p, size_t n, uint64_t h);
/* murmur3's 64-bit finalizer: every bit of H reaches every bit of the
 * result (FNV's and a word hash's low bits mix poorly alone). */
uint64_t hash64_finish (uint64_t h);
/* 32-bit FNV-1a over N bytes from H (FNV32_INIT to start): Kubernetes'
 * pod-template-hash. */
uint32_t fnv1a32 (const void *p, size_t n, uint32_t h);
/* A metadata.uid (RFC 4122 version 4 layout, 36 characters) that is a
 * function of KEY: for objects whose uid another object's name shows
 * (k3s servicelb's DaemonSet svclb-NAME-UID8), so the plan can name it. */
void uid_from_key (const char *key, char out[37]);

#endif
