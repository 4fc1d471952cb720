// wrapper.cc - the thin C++ shim between bench.h's C API and Google Benchmark.
// Registrations from C constructors may run before this file's statics exist, so
// they are queued in a function-local vector and handed to Google Benchmark in main.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench.h"

struct assay_bench_state {
    benchmark::State *st;
};

namespace
{
struct pending {
    std::string name;
    assay_bench_fn fn;
    std::vector<int64_t> args;
};

std::vector<pending> &queue()
{
    static std::vector<pending> q;
    return q;
}
} // namespace

extern "C" {

bool assay_bench_next(assay_bench_state *s)
{
    return s->st->KeepRunning();
}

int64_t assay_bench_arg(assay_bench_state *s, int i)
{
    return s->st->range(i);
}

void assay_bench_set_items(assay_bench_state *s, int64_t items)
{
    s->st->SetItemsProcessed(items);
}

void assay_bench_set_bytes(assay_bench_state *s, int64_t bytes)
{
    s->st->SetBytesProcessed(bytes);
}

void assay_bench_pause(assay_bench_state *s)
{
    s->st->PauseTiming();
}

void assay_bench_resume(assay_bench_state *s)
{
    s->st->ResumeTiming();
}

void assay_bench_counter(assay_bench_state *s, const char *name, double value)
{
    s->st->counters[name] = value;
}

void assay_bench_label(assay_bench_state *s, const char *label)
{
    s->st->SetLabel(label);
}

void assay_bench_keep(const void *p)
{
    benchmark::DoNotOptimize(p);
}

void assay_bench_register(const char *name, assay_bench_fn fn, const int64_t *args, size_t nargs)
{
    queue().push_back(pending{ name, fn, std::vector<int64_t>(args, args + nargs) });
}

} // extern "C"

int main(int argc, char **argv)
{
    for (const pending &p : queue()) {
        assay_bench_fn fn = p.fn;
        auto *b = benchmark::RegisterBenchmark(p.name.c_str(), [fn](benchmark::State &st) {
            assay_bench_state s{ &st };
            fn(&s);
        });
        for (int64_t a : p.args)
            b->Arg(a);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
