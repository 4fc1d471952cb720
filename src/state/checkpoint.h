/*
 * checkpoint.h - the state of a run on disk (state.dir), so a restarted `assay run`
 * resumes where it stopped (src/state/checkpoint.c has the format).
 */
#ifndef ASSAY_CHECKPOINT_H
#define ASSAY_CHECKPOINT_H

#include "assay/source.h"
#include "sink/outputs.h"
#include "window/aggregator.h"

#define ASSAY_CHECKPOINT_FILES 16 /* input files whose identity is kept */

/* What identifies the input files: a restart must read the same files. */
typedef struct assay_checkpoint_source {
    size_t n;
    uint64_t dev[ASSAY_CHECKPOINT_FILES], ino[ASSAY_CHECKPOINT_FILES];
    uint64_t size[ASSAY_CHECKPOINT_FILES];
    bool known[ASSAY_CHECKPOINT_FILES];
} assay_checkpoint_source;

typedef struct assay_checkpoint_info {
    bool found;
    assay_source_position position;
    assay_kafka_resume *resume; /* per-part streams: where each partition goes on */
    size_t nresume;
} assay_checkpoint_info;

void assay_checkpoint_info_free(assay_checkpoint_info *ck);

/* stat() the input files (regular files only; others are not identified). */
void assay_checkpoint_identify(const char *const *paths, size_t n, assay_checkpoint_source *out);

/* Is there a checkpoint in dir, and where does it resume? found = false when none. */
int assay_checkpoint_peek(const char *dir, assay_checkpoint_info *out, assay_error *err);

/* Write the aggregator's state, the forests, the position after the last folded
 * chunk and the sinks' marks: temp file, fsync, rename, fsync of the directory. */
int assay_checkpoint_write(const char *dir, const assay_engine *e, const assay_agg *a,
                           const assay_checkpoint_source *src, const assay_sink_marks *sinks,
                           assay_error *err);

/* Restore it into a freshly set-up engine and aggregator; checks that the config and
 * the input are the ones the checkpoint was written for. */
int assay_checkpoint_load(const char *dir, assay_engine *e, assay_agg *a,
                          const assay_checkpoint_source *src, assay_sink_marks *sinks,
                          assay_error *err);

#endif
