/*
 * models/xchg_sketch.pml - Yosry's xchg / mem_cgroup_iter / try_cmpxchg cursor sketch (spec 3.4), as proposed:
 *     m = xchg(pos, NULL); m = mem_cgroup_iter(root, m); if (!try_cmpxchg(pos, NULL, m)) continue;
 * then stop on NULL or mem_cgroup_tryget_online(m). Offline cleanup (cleanup_lockfree): for the dead memcg's
 * cursor and each ancestor's, while the cursor points at the dead memcg, run the same advance and drop the
 * reference it returns.
 * Python counterpart: zswaplab check xchg_sketch --threads 3 --memcgs 5 --rounds ROUNDS
 *   (zswaplab/concurrency/algorithms.py: advancer -> advance_xchg_sketch -> mem_cgroup_iter; offliner ->
 *    cleanup_lockfree -> advance_xchg_sketch -> mem_cgroup_iter). One d_step per Python yield, locals named
 *   after the Python frames' (see memcg.pml).
 */
#include "memcg.pml"

byte cursor[N] = NONE;  /* per-memcg cursors (zswap_wb_iter.pos); each owns a reference on where it rests */
hidden byte skr;        /* the advance's return value, handed to the caller inside one d_step */

/* advance_xchg_sketch positions (m, ok: its locals; nxt: mem_cgroup_iter's); SK_RET: it returned skr */
#define SK_XCHG 1
#define SK_ITER 2
#define SK_PUTPREV 3
#define SK_CAS 4
#define SK_TRYGET 5
#define SK_RET 6

/* m = xchg(cursor, NULL): the thread takes over the cursor's reference */
inline sk_xchg(t, cr) {
	m = cursor[cr]; cursor[cr] = NONE; take(t, m, cr); pc = SK_ITER
}

/* m = mem_cgroup_iter(cr, m), step 1 (css_next_descendant_pre + css_tryget) */
inline sk_iter(t, cr) {
	iter_next(t, cr, m, nxt);
	if :: m != NONE && m != cr -> pc = SK_PUTPREV :: else -> m = nxt; nxt = UNSET; pc = SK_CAS fi
}

/* mem_cgroup_iter step 2: css_put(prev) */
inline sk_putprev(t) {
	css_put(t, m); m = nxt; nxt = UNSET; pc = SK_CAS
}

/* if (!try_cmpxchg(cursor, NULL, m)) continue; if (!m) return NULL */
inline sk_cas(t, cr) {
	if :: cursor[cr] == NONE -> give(t, m, cr); cursor[cr] = m; ok = 1 :: else -> ok = 0 fi;
	if
	:: !ok -> pc = SK_XCHG
	:: else ->
		if :: m == NONE -> skr = NONE; m = UNSET; ok = UNSET; pc = SK_RET :: else -> pc = SK_TRYGET fi
	fi
}

/* if (mem_cgroup_tryget_online(m)) return m */
inline sk_tryget(t) {
	tryget_online(t, m, ok);
	if :: ok -> skr = m; m = UNSET; ok = UNSET; pc = SK_RET :: else -> pc = SK_XCHG fi
}

#define X_USE 7
#define X_PUT 8

/* advancer: rnd (advancer's r), am (advancer's memcg) */
active [NADV] proctype advancer() {
	byte pc = SK_XCHG, rnd = 0, am = UNSET, m = UNSET, ok = UNSET, nxt = UNSET;
end:	do
	:: d_step { pc == SK_XCHG -> sk_xchg(_pid, ROOT) }
	:: d_step { pc == SK_ITER -> sk_iter(_pid, ROOT) }
	:: d_step { pc == SK_PUTPREV -> sk_putprev(_pid) }
	:: d_step { pc == SK_CAS -> sk_cas(_pid, ROOT); if :: pc == SK_RET -> am = skr; pc = X_USE :: else fi }
	:: d_step { pc == SK_TRYGET -> sk_tryget(_pid); if :: pc == SK_RET -> am = skr; pc = X_USE :: else fi }
	:: d_step { pc == X_USE -> use(_pid, am);
		if
		:: am != NONE && am != ROOT -> pc = X_PUT
		:: else -> rnd++;
			if :: rnd < ROUNDS -> pc = SK_XCHG :: else -> rnd = UNSET; am = UNSET; thread_done(_pid, cursor[ROOT]) fi
		fi }
	:: d_step { pc == X_PUT -> css_put(_pid, am); rnd++;
		if :: rnd < ROUNDS -> pc = SK_XCHG :: else -> rnd = UNSET; am = UNSET; thread_done(_pid, cursor[ROOT]) fi }
	od
}

#define O_KILL 9
#define O_LOAD 10
#define O_PUTM 11
#define O_OFFLINE 12
#define O_DROP 13

/* offliner: cr (the cursor cleanup_lockfree looks at: roots[i], a function of its i), pos and cm
 * (cleanup_lockfree's pos and m) */
active proctype offliner() {
	byte pc = O_KILL, cr = UNSET, pos = UNSET, cm = UNSET, m = UNSET, ok = UNSET, nxt = UNSET;
end:	do
	:: d_step { pc == O_KILL -> status[DEAD] = DYING; cr = DEAD; pc = O_LOAD }     /* kill_css -> percpu_ref_kill */
	:: d_step { pc == O_LOAD -> pos = cursor[cr];
		if
		:: pos == DEAD -> pc = SK_XCHG
		:: else ->
			if :: cr == ROOT -> cr = UNSET; pos = UNSET; cm = UNSET; pc = O_OFFLINE :: else -> cr = PARENT(cr) fi
		fi }
	:: d_step { pc == SK_XCHG -> sk_xchg(_pid, cr) }
	:: d_step { pc == SK_ITER -> sk_iter(_pid, cr) }
	:: d_step { pc == SK_PUTPREV -> sk_putprev(_pid) }
	:: d_step { pc == SK_CAS -> sk_cas(_pid, cr);
		if :: pc == SK_RET -> cm = skr; if :: cm != NONE && cm != ROOT -> pc = O_PUTM :: else -> pc = O_LOAD fi :: else fi }
	:: d_step { pc == SK_TRYGET -> sk_tryget(_pid);
		if :: pc == SK_RET -> cm = skr; if :: cm != NONE && cm != ROOT -> pc = O_PUTM :: else -> pc = O_LOAD fi :: else fi }
	:: d_step { pc == O_PUTM -> css_put(_pid, cm); pc = O_LOAD }
	:: d_step { pc == O_OFFLINE -> status[DEAD] = OFFLINE; pc = O_DROP }   /* offline_css: CSS_ONLINE cleared */
	:: d_step { pc == O_DROP -> status[DEAD] = ZOMBIE; maybe_release(DEAD);  /* css_put of kill_css's ref */
		thread_done(_pid, cursor[ROOT]) }
	od
}
