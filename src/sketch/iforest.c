/*
 * iforest.c - streaming isolation forest: an anomaly score for every row, in one pass.
 *
 * The method
 * ----------
 * Isolation Forest (Liu, Ting, Zhou, "Isolation Forest", ICDM 2008, sections 3-4) does
 * not model the normal data at all: it measures how easy a point is to isolate. An
 * isolation tree (iTree) is grown on a subsample of psi points by picking a random
 * feature q and a split value p uniformly between that feature's min and max in the
 * node, recursively, until a node holds one point or the height limit
 * l = ceil(log2 psi) is reached (Algorithm 2; section 4 argues the limit loses nothing
 * because only short paths - the anomalies - matter). Anomalies are few and different,
 * so they are cut off near the root. The path length h(x) of a point is the number of
 * edges from the root to the external node it lands in, plus c(size) for the points
 * the truncated subtree would still have had to separate (Algorithm 3):
 *
 *     c(n) = 2 H(n-1) - 2 (n-1) / n,   H(i) ~ ln(i) + 0.5772156649   (eq. 1)
 *
 * c(n) is the average unsuccessful-search length of a binary search tree, i.e. the
 * average h over a random tree of n points; c(2) = 1, c(<=1) = 0; c(256) = 10.2448.
 * With T trees, s(x) = 2^(-E[h(x)] / c(psi)) (eq. 2): E[h] -> 0 gives s -> 1 (anomaly),
 * E[h] = c(psi) gives 0.5 (nothing stands out).
 *
 * Streaming (in the spirit of iForestASD, Ding & Fei, "An Anomaly Detection Approach
 * Based on Isolation Forest Algorithm for Streaming Data using Sliding Window", IFAC
 * 2013): the rows live in a sliding window (a ring of the last `window` rows, 2048 by
 * default). Nothing is scored until the window has filled once: before that the score
 * is NaN - "not ready", a flag, not a guess. Then all T trees are grown, each on psi
 * rows drawn without replacement from the window. Every `refresh` rows (1000) a
 * fraction (10 %) of the trees, oldest first (round robin), is regrown from the window
 * as it is then. iForestASD regrows the whole forest when the anomaly rate of a window
 * departs from the expected one; replacing a slice on a fixed schedule is simpler,
 * needs no extra threshold, never leaves the stream without a model, and makes the
 * forest a moving average over the last 1/fraction refreshes (a mean tree age of about
 * 5000 rows by default), so it follows drift at a rate the user sets. Every row is
 * scored by the model as it stood before the row arrived and then enters the window
 * (score-then-learn); the cut of the stream into batches does not change any score.
 *
 * Measured (tools/iforest_auc.py: `assay check --row-scores` on tools/anomaly_gen.py
 * sets of 30000 rows, one thread, mean ROC AUC over 3 seeds; "sklearn" is
 * IsolationForest(100, 256) fitted on the whole file and evaluated on the same rows,
 * the ones after the first window):
 *
 *     set (d, anomalies)         sklearn   stream    stream, refresh 10000
 *     scattered  d=2  1 %        0.9961    0.9952    0.9953
 *     scattered  d=6  2 %        0.9991    0.9990    0.9994
 *     scattered  d=20 0.5 %      1.0000    1.0000    1.0000
 *     clustered  d=4  3 %        0.9996    0.9998    0.9996
 *     clustered  d=12 5 %        0.9826    0.9676    0.9676
 *     local      d=2  1 %        0.7366    0.7415    0.7257
 *     local      d=8  2 %        0.9544    0.9286    0.9077
 *     drift      d=2  1 %        0.9033    0.8269    0.5189
 *     drift      d=6  2 %        0.9700    0.9542    0.7246
 *     stale      d=2  1 %        0.5584    0.7834    0.5111
 *     stale      d=6  2 %        0.5858    0.8658    0.5198
 *
 * On static data one pass over a 2048-row window is within 0.01 of the batch forest on
 * five of seven sets; the two behind (clustered d=12, local d=8) did not improve with
 * windows of 4096 or 8192 rows. The drift sets move the normal data by about 20 cluster
 * widths over the stream. Refreshing every 10000 rows (a mean tree age of ~50000 rows)
 * cannot keep up; every 1000 rows follows the data, and that is what beats the batch
 * model on "stale" anomalies (values normal at another time, invisible to a model of
 * the whole file). It costs about 20 % more per row than 10000 (each refresh regrows
 * 10 trees and recomputes the medians), which is why it is the default: the static
 * sets lose nothing by it. Choose `refresh` about half the number of rows over which
 * the data may move by one cluster width.
 *
 * Why not Half-Space Trees (Tan, Ting, Liu 2011) or Robust Random Cut Forest (Guha et
 * al. 2016)? HS-Trees split at the middle of a fixed work space set from early data and
 * score by mass, so they need the feature ranges up front and degrade when the data
 * leaves that box; RRCF keeps exact trees updated point by point (insert and delete per
 * row in every tree), which costs tens of microseconds per row for 100 trees - far from
 * the 2 M rows/s we want - and its displacement score is harder to threshold. The
 * windowed iForest scores with read-only trees (a branch-free walk, below) and pays for
 * learning only at refreshes: ~fraction*T*psi*l work every `refresh` rows.
 *
 * Nulls: a NaN or infinite feature value is null. It is imputed with that feature's
 * median over the window, computed when trees are grown (and used for scoring until the
 * next growth; 0 if the feature was null throughout). A null therefore never makes a
 * row look anomalous by itself, and the trees never see a non-finite split. Scaling is
 * not needed: splits are drawn within each feature's own range, so iForest is invariant
 * to a per-feature scale and shift.
 *
 * Flat trees, branch-free scoring
 * -------------------------------
 * A tree is arrays over at most 2 psi - 1 nodes: feature (u16), split (double), left
 * child index (u32; the right child is left + 1, children are allocated in pairs),
 * size and path (float: depth + c(size), set on external nodes). An external node is
 * made to point to itself with split = +inf, so that `node = left[node] + (x[f] >
 * split[node])` taken exactly l times from the root always ends on the external node
 * of x, whatever its depth: no data-dependent branch, and several rows walk one tree
 * interleaved. Scoring runs tree by tree over a block of rows (the tree stays in L1),
 * summing path[] in tree order so every kernel gives bit-identical results. The scalar
 * kernel reads a packed 16-byte copy of each node (split, left, feature: one load per
 * step) and walks eight rows at once, whose dependent-load chains overlap.
 *
 * iforest_avx2.c walks 4+4 rows in vector lanes with gathers. Measured on the AMD EPYC
 * this was written on (bench/bench_iforest.c, T = 100, psi = 256, d = 6), gathers are
 * slow there: scalar 1.5 M rows/s, AVX2 0.71 M rows/s per core. So the stream
 * (assay_iforest_process) uses the scalar kernel; the AVX2 twin stays, tested
 * bit-identical, reachable through assay_iforest_score(level) for CPUs with fast
 * gathers - re-measure before switching the default. Also tried and dropped, for no
 * gain in the noise of this 2-vCPU VM (about +-15 %): an AVX-512 kernel with eight rows
 * per vector and four or eight trees interleaved (1.45 M rows/s, bound by two 8-lane
 * gathers per step), node records with the left child and feature packed in one word,
 * row groups stored feature-major so a step needs no per-row base pointer, children's
 * features carried in the parent so the two loads of a step overlap, 256-row blocks,
 * and 4 or 16 rows per tree walk (4: 0.7 M; 16: spills). The scalar loop is bound by
 * instruction throughput with eight chains in flight; the 2 M rows/s goal likely needs
 * float32 nodes (8 bytes: one gather per step) with features centred per window.
 *
 * The threshold implied by `contamination` is the exact (1 - contamination) quantile
 * (nearest rank) of the last 4096 ready scores, kept in a ring: exact, small, and it
 * follows the model as the trees are refreshed (a t-digest would remember old scores).
 * Rows are flagged against the threshold as it was at the last multiple of 1024 ready
 * scores (a linear-time selection over the ring each time), so flags, like scores, do
 * not depend on how the stream is cut into batches.
 *
 * Determinism: one splitmix64 stream per forest (Steele, Lea, Flood 2014), seeded by
 * the options; no global state.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/iforest.h"
#include "core/mix.h"

/* ------------------------------------------------------------------------------ */
/* The forest                                                                      */
/* ------------------------------------------------------------------------------ */

#define EULER_GAMMA 0.5772156649

#if defined(__x86_64__)
void assay_iforest_score_avx2(const uint16_t *feature, const double *split, const uint32_t *left,
                              const float *path, unsigned trees, uint32_t stride, unsigned steps,
                              const double *x, size_t d, size_t n, double *acc);
#endif

/* One node as the scalar kernel reads it: one 16-byte load per step instead of three
 * arrays (a copy of feature/split/left, written together with them). */
typedef struct pnode {
    double split;
    uint32_t left;
    uint32_t feature;
} pnode;

struct assay_iforest {
    assay_iforest_options o;
    unsigned steps;  /* height limit l = ceil(log2 psi) */
    uint32_t stride; /* node slots per tree: 2 psi */
    double c_psi;
    bool ready;
    uint64_t rows;      /* rows fed */
    uint64_t since;     /* rows since the last growth */
    unsigned next_tree; /* next to regrow (round robin) */
    uint64_t rng;       /* splitmix64 state */
    /* flat trees: T * stride slots each */
    uint16_t *feature;
    double *split;
    uint32_t *left;
    uint32_t *size;
    float *path;
    pnode *node;
    /* sliding window: ring of `window` rows */
    double *win;
    size_t win_n, win_pos;
    double *median; /* d imputation values */
    /* growth scratch */
    uint32_t *perm; /* window indexes */
    double *sample; /* psi rows, imputed */
    uint32_t *idx;  /* psi sample indexes, partitioned while growing */
    double *column; /* window values of one feature (medians) */
    double *rowbuf; /* scoring block, imputed */
    double *acc;    /* scoring block path sums */
    /* recent ready scores for the threshold */
    double *hist;
    size_t hist_n, hist_pos;
    /* the threshold in force for flagging rows, recomputed every THRESHOLD_EVERY
     * ready scores (so flags do not depend on how the stream is cut into batches) */
    uint64_t scored; /* ready scores so far */
    uint64_t judged; /* of them, scored while a threshold was in force */
    double thr;
    bool thr_ok;
    double *thrbuf; /* scratch copy of hist for the selection */
};

#define SCORE_BLOCK     64   /* rows scored per pass over the trees */
#define ILV             8    /* rows walking one tree together in the scalar kernel */
#define THRESHOLD_EVERY 1024 /* ready scores between threshold updates for flags */

static uint64_t rng_next(uint64_t *s)
{
    return assay_mix64(*s += ASSAY_SPLITMIX_GAMMA);
}

/* Uniform double in [0, 1). */
static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply; bias < n / 2^64, irrelevant). */
static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

double assay_iforest_c(double n)
{
    if (n <= 1)
        return 0;
    if (n <= 2)
        return 1;
    return 2 * (log(n - 1) + EULER_GAMMA) - 2 * (n - 1) / n;
}

void assay_iforest_options_default(assay_iforest_options *o, size_t d)
{
    memset(o, 0, sizeof(*o));
    o->d = d;
    o->trees = 100;
    o->sample = 256;
    o->window = 2048;
    o->refresh = 1000;
    o->refresh_fraction = 0.1;
    o->contamination = 0.01;
    o->seed = 0;
}

void assay_iforest_free(assay_iforest *f)
{
    if (!f)
        return;
    free(f->feature);
    free(f->split);
    free(f->left);
    free(f->size);
    free(f->path);
    free(f->node);
    free(f->win);
    free(f->median);
    free(f->perm);
    free(f->sample);
    free(f->idx);
    free(f->column);
    free(f->rowbuf);
    free(f->acc);
    free(f->hist);
    free(f->thrbuf);
    free(f);
}

int assay_iforest_options_check(const assay_iforest_options *o, assay_error *err)
{
    if (o->d < 1 || o->d > ASSAY_IFOREST_D_MAX)
        return assay_error_set(err, -EINVAL, "anomaly: %zu feature columns; need 1 to %d", o->d,
                               ASSAY_IFOREST_D_MAX);
    if (o->trees < 1 || o->trees > ASSAY_IFOREST_TREES_MAX)
        return assay_error_set(err, -EINVAL, "anomaly.trees = %u; need 1 to %d", o->trees,
                               ASSAY_IFOREST_TREES_MAX);
    if (o->sample < ASSAY_IFOREST_SAMPLE_MIN || o->sample > ASSAY_IFOREST_SAMPLE_MAX)
        return assay_error_set(err, -EINVAL, "anomaly.sample = %u; need %d to %d", o->sample,
                               ASSAY_IFOREST_SAMPLE_MIN, ASSAY_IFOREST_SAMPLE_MAX);
    if (o->window < o->sample || o->window > ASSAY_IFOREST_WINDOW_MAX)
        return assay_error_set(err, -EINVAL,
                               "anomaly.window = %zu; need at least anomaly.sample (%u) and "
                               "at most %u",
                               o->window, o->sample, ASSAY_IFOREST_WINDOW_MAX);
    if (!(o->refresh_fraction > 0 && o->refresh_fraction <= 1))
        return assay_error_set(err, -EINVAL, "anomaly refresh fraction %g; need (0, 1]",
                               o->refresh_fraction);
    if (!(o->contamination > 0 && o->contamination <= 0.5))
        return assay_error_set(err, -EINVAL, "anomaly.contamination = %g; need (0, 0.5]",
                               o->contamination);

    return 0;
}

int assay_iforest_new(assay_iforest **out, const assay_iforest_options *o, assay_error *err)
{
    *out = NULL;
    int rc = assay_iforest_options_check(o, err);
    if (rc < 0)
        return rc;
    assay_iforest *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->o = *o;
    f->steps = 0;
    while ((1u << f->steps) < o->sample)
        f->steps++;
    f->stride = 2 * o->sample;
    f->c_psi = assay_iforest_c(o->sample);
    f->rng = o->seed;
    size_t slots = (size_t)o->trees * f->stride;
    /* +2: the AVX2 kernel reads feature[] 32 bits at a time */
    f->feature = calloc(slots + 2, sizeof(*f->feature));
    f->split = calloc(slots, sizeof(*f->split));
    f->left = calloc(slots, sizeof(*f->left));
    f->size = calloc(slots, sizeof(*f->size));
    f->path = calloc(slots, sizeof(*f->path));
    f->node = calloc(slots, sizeof(*f->node));
    f->win = malloc(o->window * o->d * sizeof(*f->win));
    f->median = calloc(o->d, sizeof(*f->median));
    f->perm = malloc(o->window * sizeof(*f->perm));
    f->sample = malloc((size_t)o->sample * o->d * sizeof(*f->sample));
    f->idx = malloc(o->sample * sizeof(*f->idx));
    f->column = malloc(o->window * sizeof(*f->column));
    f->rowbuf = malloc(SCORE_BLOCK * o->d * sizeof(*f->rowbuf));
    f->acc = malloc(SCORE_BLOCK * sizeof(*f->acc));
    f->hist = malloc(ASSAY_IFOREST_SCORE_HISTORY * sizeof(*f->hist));
    f->thrbuf = malloc(ASSAY_IFOREST_SCORE_HISTORY * sizeof(*f->thrbuf));
    if (!f->feature || !f->split || !f->left || !f->size || !f->path || !f->node || !f->win ||
        !f->median || !f->perm || !f->sample || !f->idx || !f->column || !f->rowbuf || !f->acc ||
        !f->hist || !f->thrbuf) {
        assay_iforest_free(f);
        return -ENOMEM;
    }
    for (size_t i = 0; i < o->window; i++)
        f->perm[i] = (uint32_t)i;
    *out = f;
    return 0;
}

bool assay_iforest_ready(const assay_iforest *f)
{
    return f->ready;
}

uint64_t assay_iforest_rows(const assay_iforest *f)
{
    return f->rows;
}

unsigned assay_iforest_trees(const assay_iforest *f)
{
    return f->o.trees;
}

unsigned assay_iforest_height_limit(const assay_iforest *f)
{
    return f->steps;
}

/* ------------------------------------------------------------------------------ */
/* Growing trees                                                                   */
/* ------------------------------------------------------------------------------ */

static bool is_value(double v)
{
    return isfinite(v);
}

/* The k-th smallest of v[0..n) (k < n), partially reordering v (Hoare's FIND with a
 * middle pivot; expected linear time on the window's values). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* Per-feature median of the finite values in the window (0 when there are none), from
 * at most MEDIAN_ROWS of its rows, evenly spaced: the median only stands in for nulls,
 * and a median over 512 rows is within a few percentiles of the window's while a
 * selection over all 2048 rows per feature was a third of the cost of a refresh. */
#define MEDIAN_ROWS 512
static void update_medians(assay_iforest *f)
{
    size_t d = f->o.d;
    size_t step = (f->win_n + MEDIAN_ROWS - 1) / MEDIAN_ROWS;
    step = step ? step : 1;
    for (size_t j = 0; j < d; j++) {
        size_t m = 0;
        for (size_t i = 0; i < f->win_n; i += step) {
            double v = f->win[i * d + j];
            if (is_value(v))
                f->column[m++] = v;
        }
        if (m == 0) {
            f->median[j] = 0;
            continue;
        }
        double hi = select_kth(f->column, m, m / 2);
        if (m % 2) {
            f->median[j] = hi;
        } else { /* the lower middle is the largest value left of m/2 */
            double lo = f->column[0];
            for (size_t i = 1; i < m / 2; i++)
                lo = f->column[i] > lo ? f->column[i] : lo;
            f->median[j] = 0.5 * (lo + hi);
        }
    }
}

/* Copy row src (d values) to dst with nulls replaced by the medians. */
static void impute(const assay_iforest *f, const double *src, double *dst)
{
    for (size_t j = 0; j < f->o.d; j++)
        dst[j] = is_value(src[j]) ? src[j] : f->median[j];
}

typedef struct grow_ctx {
    assay_iforest *f;
    size_t base;   /* first slot of the tree */
    uint32_t next; /* next free node (relative) */
} grow_ctx;

static void make_leaf(grow_ctx *g, uint32_t node, uint32_t n, unsigned depth)
{
    assay_iforest *f = g->f;
    size_t k = g->base + node;
    f->feature[k] = 0;
    f->split[k] = INFINITY;
    f->left[k] = node;
    f->size[k] = n;
    f->path[k] = (float)(depth + assay_iforest_c(n));
    f->node[k] = (pnode){ INFINITY, node, 0 };
}

/* Grow the subtree at `node` over sample rows idx[0..n) (Liu et al. 2008, Algorithm 2). */
static void grow(grow_ctx *g, uint32_t node, uint32_t *idx, uint32_t n, unsigned depth)
{
    assay_iforest *f = g->f;
    size_t d = f->o.d;
    if (depth >= f->steps || n <= 1) {
        make_leaf(g, node, n, depth);
        return;
    }
    /* a random feature that is not constant here: start at a random one, walk on */
    uint32_t q0 = rng_below(&f->rng, (uint32_t)d);
    double lo = 0, hi = 0;
    size_t q = 0;
    bool found = false;
    for (size_t t = 0; t < d && !found; t++) {
        q = (q0 + t) % d;
        lo = hi = f->sample[idx[0] * d + q];
        for (uint32_t i = 1; i < n; i++) {
            double v = f->sample[idx[i] * d + q];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        found = hi > lo;
    }
    if (!found) { /* all n rows identical: nothing left to isolate */
        make_leaf(g, node, n, depth);
        return;
    }
    double p = lo + rng_unit(&f->rng) * (hi - lo);
    if (!(p < hi)) /* rounding */
        p = lo;
    /* partition: x <= p first, so both sides are non-empty (lo <= p < hi) */
    uint32_t a = 0, b = n;
    while (a < b) {
        if (f->sample[idx[a] * d + q] <= p) {
            a++;
        } else {
            b--;
            uint32_t t = idx[a];
            idx[a] = idx[b];
            idx[b] = t;
        }
    }
    size_t k = g->base + node;
    uint32_t child = g->next;
    g->next += 2;
    f->feature[k] = (uint16_t)q;
    f->split[k] = p;
    f->left[k] = child;
    f->size[k] = n;
    f->path[k] = 0;
    f->node[k] = (pnode){ p, child, (uint32_t)q };
    grow(g, child, idx, a, depth + 1);
    grow(g, child + 1, idx + a, n - a, depth + 1);
}

/* Regrow tree t from psi rows drawn without replacement from the window. */
static void grow_tree(assay_iforest *f, unsigned t)
{
    size_t d = f->o.d;
    uint32_t psi = f->o.sample;
    uint32_t w = (uint32_t)f->win_n;
    /* partial Fisher-Yates over perm (any permutation of 0..w-1 is a fine start) */
    for (uint32_t i = 0; i < psi; i++) {
        uint32_t j = i + rng_below(&f->rng, w - i);
        uint32_t tmp = f->perm[i];
        f->perm[i] = f->perm[j];
        f->perm[j] = tmp;
        impute(f, f->win + (size_t)f->perm[i] * d, f->sample + (size_t)i * d);
        f->idx[i] = i;
    }
    grow_ctx g = { .f = f, .base = (size_t)t * f->stride, .next = 1 };
    grow(&g, 0, f->idx, psi, 0);
}

/* ------------------------------------------------------------------------------ */
/* Scoring                                                                         */
/* ------------------------------------------------------------------------------ */

/* Scalar kernel: acc[r] = sum over trees (in order) of path[leaf of row r], for n rows
 * of x (imputed, row-major). Eight rows walk each tree together (independent chains of
 * dependent loads, so they overlap). */
static void score_scalar(const pnode *nodes, const float *path, unsigned trees, uint32_t stride,
                         unsigned steps, const double *x, size_t d, size_t n, double *acc)
{
    for (size_t r = 0; r < n; r++)
        acc[r] = 0;
    for (unsigned t = 0; t < trees; t++) {
        size_t base = (size_t)t * stride;
        const pnode *nd = nodes + base;
        const float *pa = path + base;
        size_t r = 0;
        for (; r + ILV <= n; r += ILV) {
            const double *xr = x + r * d;
            uint32_t k[ILV] = { 0 };
            for (unsigned st = 0; st < steps; st++)
                for (int j = 0; j < ILV; j++) {
                    pnode e = nd[k[j]];
                    k[j] = e.left + (xr[j * d + e.feature] > e.split);
                }
            for (int j = 0; j < ILV; j++)
                acc[r + j] += pa[k[j]];
        }
        for (; r < n; r++) {
            const double *x0 = x + r * d;
            uint32_t k0 = 0;
            for (unsigned s = 0; s < steps; s++) {
                pnode e = nd[k0];
                k0 = e.left + (x0[e.feature] > e.split);
            }
            acc[r] += pa[k0];
        }
    }
}

/* Score up to SCORE_BLOCK rows with the current trees into scores (ready forest).
 * rowbuf and acc are scratch of SCORE_BLOCK rows. */
static void score_block(const assay_iforest *f, const double *rows, size_t n, double *scores,
                        assay_simd_level level, double *rowbuf, double *acc)
{
    size_t d = f->o.d;
    for (size_t r = 0; r < n; r++)
        impute(f, rows + r * d, rowbuf + r * d);
#if defined(__x86_64__)
    if (level >= ASSAY_SIMD_AVX2) {
        assay_iforest_score_avx2(f->feature, f->split, f->left, f->path, f->o.trees, f->stride,
                                 f->steps, rowbuf, d, n, acc);
    } else
#endif
    {
        (void)level;
        score_scalar(f->node, f->path, f->o.trees, f->stride, f->steps, rowbuf, d, n, acc);
    }
    double k = -1.0 / ((double)f->o.trees * f->c_psi);
    for (size_t r = 0; r < n; r++)
        scores[r] = exp2(acc[r] * k);
}

static assay_simd_level clamp_level(assay_simd_level level)
{
    assay_simd_level have = assay_cpu_detect();
    return level > have ? have : level;
}

/* Score n rows into scores (ready forest), using the forest's own scratch. */
static void score_rows(assay_iforest *f, const double *rows, size_t n, double *scores,
                       assay_simd_level level)
{
    for (size_t i = 0; i < n; i += SCORE_BLOCK) {
        size_t m = ASSAY_MIN(SCORE_BLOCK, n - i);
        score_block(f, rows + i * f->o.d, m, scores + i, level, f->rowbuf, f->acc);
    }
}

void assay_iforest_score(const assay_iforest *f, const double *rows, size_t n, double *scores,
                         assay_simd_level level)
{
    if (!f->ready) {
        for (size_t i = 0; i < n; i++)
            scores[i] = NAN;
        return;
    }
    level = clamp_level(level);
    double acc[SCORE_BLOCK];
    double *rowbuf = malloc(SCORE_BLOCK * f->o.d * sizeof(*rowbuf));
    if (!rowbuf) { /* out of memory: report "no score" rather than crash */
        for (size_t i = 0; i < n; i++)
            scores[i] = NAN;
        return;
    }
    for (size_t i = 0; i < n; i += SCORE_BLOCK) {
        size_t m = ASSAY_MIN(SCORE_BLOCK, n - i);
        score_block(f, rows + i * f->o.d, m, scores + i, level, rowbuf, acc);
    }
    free(rowbuf);
}

/* ------------------------------------------------------------------------------ */
/* The stream                                                                      */
/* ------------------------------------------------------------------------------ */

static void push_rows(assay_iforest *f, const double *rows, size_t n)
{
    size_t d = f->o.d;
    for (size_t i = 0; i < n; i++) {
        memcpy(f->win + f->win_pos * d, rows + i * d, d * sizeof(double));
        f->win_pos = (f->win_pos + 1) % f->o.window;
        if (f->win_n < f->o.window)
            f->win_n++;
    }
    f->rows += n;
}

static void remember_scores(assay_iforest *f, const double *scores, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        f->hist[f->hist_pos] = scores[i];
        f->hist_pos = (f->hist_pos + 1) % ASSAY_IFOREST_SCORE_HISTORY;
        if (f->hist_n < ASSAY_IFOREST_SCORE_HISTORY)
            f->hist_n++;
    }
}

/* Ready scores needed before a threshold means anything: 1/contamination, at least 100. */
static size_t threshold_need(const assay_iforest *f)
{
    double need = ceil(1.0 / f->o.contamination);
    /* more than the history holds (a tiny contamination) means never: say so without
     * converting a huge double to size_t */
    if (!(need <= (double)ASSAY_IFOREST_SCORE_HISTORY))
        return (size_t)ASSAY_IFOREST_SCORE_HISTORY + 1;
    return ASSAY_MAX((size_t)need, (size_t)100);
}

/* The (1 - contamination) quantile (nearest rank) of the remembered scores, selected
 * in a scratch copy (linear time; a sort cost ~1 us per row at this update rate). */
static double history_quantile(const assay_iforest *f, double *scratch)
{
    memcpy(scratch, f->hist, f->hist_n * sizeof(*scratch));
    size_t rank = (size_t)ceil((1.0 - f->o.contamination) * (double)f->hist_n);
    rank = ASSAY_MAX(rank, (size_t)1);
    return select_kth(scratch, f->hist_n, rank - 1);
}

static void set_flags(uint64_t *flags, size_t at, const double *scores, size_t n, bool on,
                      double thr)
{
    for (size_t r = 0; r < n; r++) {
        size_t i = at + r;
        uint64_t bit = (uint64_t)1 << (i & 63);
        if (on && scores[r] > thr)
            flags[i >> 6] |= bit;
        else
            flags[i >> 6] &= ~bit;
    }
}

int assay_iforest_process(assay_iforest *f, const double *rows, size_t n, double *scores,
                          uint64_t *flags)
{
    size_t d = f->o.d;
    size_t i = 0;
    double tmp[SCORE_BLOCK];
    while (i < n) {
        size_t seg;
        if (!f->ready) {
            seg = ASSAY_MIN(n - i, f->o.window - f->win_n);
            if (scores)
                for (size_t r = 0; r < seg; r++)
                    scores[i + r] = NAN;
            if (flags)
                set_flags(flags, i, tmp, seg, false, 0);
            push_rows(f, rows + i * d, seg);
            if (f->win_n == f->o.window) {
                update_medians(f);
                for (unsigned t = 0; t < f->o.trees; t++)
                    grow_tree(f, t);
                f->ready = true;
                f->since = 0;
            }
        } else {
            seg = n - i;
            if (f->o.refresh)
                seg = ASSAY_MIN(seg, f->o.refresh - f->since);
            seg = ASSAY_MIN(seg, SCORE_BLOCK);
            seg = ASSAY_MIN(seg, THRESHOLD_EVERY - f->scored % THRESHOLD_EVERY);
            double *out = scores ? scores + i : tmp;
            /* scalar on purpose: see "Flat trees, branch-free scoring" above */
            score_rows(f, rows + i * d, seg, out, ASSAY_SIMD_SCALAR);
            if (flags)
                set_flags(flags, i, out, seg, f->thr_ok, f->thr);
            if (f->thr_ok)
                f->judged += seg;
            remember_scores(f, out, seg);
            f->scored += seg;
            if (f->scored % THRESHOLD_EVERY == 0 && f->hist_n >= threshold_need(f)) {
                f->thr = history_quantile(f, f->thrbuf);
                f->thr_ok = true;
            }
            push_rows(f, rows + i * d, seg);
            f->since += seg;
            if (f->o.refresh && f->since == f->o.refresh) {
                unsigned k = (unsigned)ceil(f->o.refresh_fraction * f->o.trees);
                k = ASSAY_MIN(ASSAY_MAX(k, 1u), f->o.trees);
                update_medians(f);
                for (unsigned j = 0; j < k; j++) {
                    grow_tree(f, f->next_tree);
                    f->next_tree = (f->next_tree + 1) % f->o.trees;
                }
                f->since = 0;
            }
        }
        i += seg;
    }
    return 0;
}

int assay_iforest_threshold(const assay_iforest *f, double *out)
{
    if (f->hist_n == 0 || f->hist_n < threshold_need(f))
        return -EAGAIN;
    double *v = malloc(f->hist_n * sizeof(*v));
    if (!v)
        return -ENOMEM;
    *out = history_quantile(f, v);
    free(v);
    return 0;
}

uint64_t assay_iforest_judged(const assay_iforest *f)
{
    return f->judged;
}

int assay_iforest_flag_threshold(const assay_iforest *f, double *out)
{
    if (!f->thr_ok)
        return -EAGAIN;
    *out = f->thr;
    return 0;
}

int assay_iforest_tree(const assay_iforest *f, unsigned t, assay_iforest_tree_view *v)
{
    if (!f->ready)
        return -EAGAIN;
    if (t >= f->o.trees)
        return -EINVAL;
    size_t base = (size_t)t * f->stride;
    v->nodes = f->stride;
    v->feature = f->feature + base;
    v->split = f->split + base;
    v->left = f->left + base;
    v->size = f->size + base;
    v->path = f->path + base;
    return 0;
}

/* ------------------------------------------------------------------------------ */
/* Serialized form                                                                 */
/* ------------------------------------------------------------------------------ */

/*
 * Payload (little endian, after the assay/sketch.h header, kind IFOREST, version 1):
 *   u32 d, trees, sample; u64 window, refresh; f64 refresh_fraction, contamination;
 *   u64 seed;                                                    the options
 *   u8 ready, thr_ok; u32 next_tree; u64 rows, since, rng, win_n, win_pos, hist_n,
 *   hist_pos, scored, judged; f64 thr;                           the state
 *   then the arrays: feature u16[T*2psi], split f64[..], left u32[..], size u32[..],
 *   path f32[..], win f64[window*d], median f64[d], perm u32[window], and hist_n of the
 *   recent scores hist f64[] (the ring's slots in use; all 4096 once it has wrapped).
 * The scoring copy (`node`) is rebuilt from feature/split/left.
 */
#include "assay/sketch.h"

typedef struct wbuf {
    uint8_t *p;
    size_t n;
} wbuf;

static void put(wbuf *w, const void *v, size_t n)
{
    memcpy(w->p + w->n, v, n);
    w->n += n;
}

static size_t payload_bytes(const assay_iforest_options *o, size_t hist_n)
{
    size_t slots = (size_t)o->trees * 2 * o->sample;
    return 3 * 4 + 2 * 8 + 2 * 8 + 8 + 2 + 4 + 9 * 8 + 8 + slots * (2 + 8 + 4 + 4 + 4) +
           o->window * o->d * 8 + o->d * 8 + o->window * 4 + hist_n * 8;
}

int assay_iforest_serialize(const assay_iforest *f, uint8_t **buf, size_t *len)
{
    const assay_iforest_options *o = &f->o;
    size_t pl = payload_bytes(o, f->hist_n);
    uint8_t *b = malloc(ASSAY_SKETCH_HEADER + pl);
    if (!b)
        return -ENOMEM;
    assay_sketch_header_write(b, ASSAY_SKETCH_IFOREST, 1, pl);
    wbuf w = { b + ASSAY_SKETCH_HEADER, 0 };
    uint32_t u32;
    uint64_t u64;
    uint8_t u8;
    u32 = (uint32_t)o->d, put(&w, &u32, 4);
    u32 = o->trees, put(&w, &u32, 4);
    u32 = o->sample, put(&w, &u32, 4);
    u64 = o->window, put(&w, &u64, 8);
    u64 = o->refresh, put(&w, &u64, 8);
    put(&w, &o->refresh_fraction, 8);
    put(&w, &o->contamination, 8);
    put(&w, &o->seed, 8);
    u8 = f->ready, put(&w, &u8, 1);
    u8 = f->thr_ok, put(&w, &u8, 1);
    u32 = f->next_tree, put(&w, &u32, 4);
    put(&w, &f->rows, 8);
    put(&w, &f->since, 8);
    put(&w, &f->rng, 8);
    u64 = f->win_n, put(&w, &u64, 8);
    u64 = f->win_pos, put(&w, &u64, 8);
    u64 = f->hist_n, put(&w, &u64, 8);
    u64 = f->hist_pos, put(&w, &u64, 8);
    put(&w, &f->scored, 8);
    put(&w, &f->judged, 8);
    put(&w, &f->thr, 8);
    size_t slots = (size_t)o->trees * f->stride;
    put(&w, f->feature, slots * 2);
    put(&w, f->split, slots * 8);
    put(&w, f->left, slots * 4);
    put(&w, f->size, slots * 4);
    put(&w, f->path, slots * 4);
    put(&w, f->win, o->window * o->d * 8);
    put(&w, f->median, o->d * 8);
    put(&w, f->perm, o->window * 4);
    put(&w, f->hist, f->hist_n * 8);
    assay_assert(w.n == pl);
    *buf = b;
    *len = ASSAY_SKETCH_HEADER + pl;
    return 0;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t n, at;
} rbuf;

static void get(rbuf *r, void *v, size_t n)
{
    memcpy(v, r->p + r->at, n);
    r->at += n;
}

int assay_iforest_deserialize(const uint8_t *buf, size_t len, assay_iforest **out, assay_error *err)
{
    *out = NULL;
    const uint8_t *pl;
    uint64_t plen;
    int rc = assay_sketch_header_check(buf, len, ASSAY_SKETCH_IFOREST, 1, &pl, &plen, err);
    if (rc < 0)
        return rc;
    rbuf r = { pl, plen, 0 };
    if (plen < 3 * 4 + 5 * 8)
        return assay_error_set(err, -EINVAL, "iforest: payload too short for its options");
    assay_iforest_options o;
    uint32_t u32;
    uint64_t u64;
    memset(&o, 0, sizeof(o));
    get(&r, &u32, 4), o.d = u32;
    get(&r, &u32, 4), o.trees = u32;
    get(&r, &u32, 4), o.sample = u32;
    get(&r, &u64, 8), o.window = u64;
    get(&r, &u64, 8), o.refresh = u64;
    get(&r, &o.refresh_fraction, 8);
    get(&r, &o.contamination, 8);
    get(&r, &o.seed, 8);
    if ((rc = assay_iforest_options_check(&o, err)) < 0)
        return assay_error_prefix(err, "iforest");
    size_t base = payload_bytes(&o, 0);
    if (plen < base)
        return assay_error_set(err, -EINVAL, "iforest: payload is %llu bytes, expected %zu or more",
                               (unsigned long long)plen, base);
    size_t hist_n = (size_t)((plen - base) / 8);
    if (plen != payload_bytes(&o, hist_n) || hist_n > ASSAY_IFOREST_SCORE_HISTORY)
        return assay_error_set(err, -EINVAL,
                               "iforest: payload of %llu bytes does not fit its options",
                               (unsigned long long)plen);
    assay_iforest *f;
    if ((rc = assay_iforest_new(&f, &o, err)) < 0)
        return rc;
    uint8_t u8;
    get(&r, &u8, 1), f->ready = u8 != 0;
    get(&r, &u8, 1), f->thr_ok = u8 != 0;
    get(&r, &u32, 4), f->next_tree = u32;
    get(&r, &f->rows, 8);
    get(&r, &f->since, 8);
    get(&r, &f->rng, 8);
    get(&r, &u64, 8), f->win_n = u64;
    get(&r, &u64, 8), f->win_pos = u64;
    get(&r, &u64, 8), f->hist_n = u64;
    get(&r, &u64, 8), f->hist_pos = u64;
    get(&r, &f->scored, 8);
    get(&r, &f->judged, 8);
    get(&r, &f->thr, 8);
    size_t slots = (size_t)o.trees * f->stride;
    get(&r, f->feature, slots * 2);
    get(&r, f->split, slots * 8);
    get(&r, f->left, slots * 4);
    get(&r, f->size, slots * 4);
    get(&r, f->path, slots * 4);
    get(&r, f->win, o.window * o.d * 8);
    get(&r, f->median, o.d * 8);
    get(&r, f->perm, o.window * 4);
    get(&r, f->hist, hist_n * 8);
    const char *bad = NULL;
    if (f->next_tree >= o.trees || f->win_n > o.window || f->win_pos >= o.window ||
        f->hist_n != hist_n || f->hist_pos >= ASSAY_IFOREST_SCORE_HISTORY ||
        (hist_n < ASSAY_IFOREST_SCORE_HISTORY && f->hist_pos != hist_n))
        bad = "a counter is out of range";
    /* the forest learns when its window fills and only then: a ready forest has a
     * full window (trees regrow from it), a learning one a partial window filled
     * from slot 0, and rows since the last refresh stay below the refresh period */
    else if (f->ready != (f->win_n == o.window) ||
             (!f->ready && (f->win_pos != f->win_n || f->since != 0)) ||
             (o.refresh && f->since >= o.refresh))
        bad = "a window counter is out of range";
    for (size_t i = 0; !bad && i < o.window; i++)
        if (f->perm[i] >= o.window)
            bad = "the window permutation points outside the window";
    for (size_t k = 0; !bad && k < slots; k++) {
        uint32_t local = (uint32_t)(k % f->stride);
        bool leaf = f->left[k] == local;
        /* a leaf's split must be +inf: the walk steps left + (x > split), and only
         * that keeps a leaf (left == itself) where it is. Only a ready forest's trees
         * are walked (a learning one's are still zeros and are grown when it fills) */
        if (f->feature[k] >= o.d || (!leaf && f->left[k] >= f->stride - 1) ||
            (f->ready && leaf && f->split[k] != INFINITY))
            bad = "a tree node points outside its tree";
        f->node[k] = (pnode){ f->split[k], f->left[k], f->feature[k] };
    }
    if (bad) {
        assay_iforest_free(f);
        return assay_error_set(err, -EINVAL, "iforest: %s", bad);
    }
    *out = f;
    return 0;
}
