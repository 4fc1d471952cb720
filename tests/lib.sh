# Shared by the shell tests (sourced): pass/fail counters and the checks that bump
# them. Each script prints its own summary and exits non-zero when failn > 0.
pass=0 failn=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { failn=$((failn+1)); echo "FAIL $*"; }
expect_eq() { if [ "$1" == "$2" ]; then ok "$3"; else bad "$3: got '$1', expected '$2'"; fi; }
