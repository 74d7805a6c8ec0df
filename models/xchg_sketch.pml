/*
 * models/xchg_sketch.pml - Yosry's xchg / mem_cgroup_iter / try_cmpxchg cursor sketch (spec 3.4), as proposed:
 *     m = xchg(pos, NULL); m = mem_cgroup_iter(root, m); if (!try_cmpxchg(pos, NULL, m)) continue;
 * then stop on NULL or mem_cgroup_tryget_online(m). Offline cleanup: while the cursor points at the dead
 * memcg, run the same advance and drop its reference.
 * Python counterpart: zswaplab check xchg_sketch --threads 3 --memcgs 5 --rounds ROUNDS
 */
#include "memcg.pml"

byte cursor = NONE;

inline sketch_advance(t, m) {
	do
	:: skip; d_step { m = cursor; cursor = NONE; if :: m != NONE && m != ROOT -> held[t * N + m]++ :: else fi };
		d_step { iter_next(t, ROOT, m, nx) };
		d_step { css_put(t, m) };
		m = nx;
		d_step { if :: cursor == NONE -> give(t, m); cursor = m; ok = 1 :: else -> ok = 0 fi };
		if
		:: ok == 0 -> skip
		:: else ->
			if :: m == NONE -> break :: else fi; skip;
			d_step { tryget_online(t, m, ok) };
			if :: ok -> break :: else fi
		fi
	od; skip
}

proctype advancer(byte t) {
	byte rnd = 0, memcg, nx, c, r, q, w, ok, cand, nx2;
	do
	:: rnd < ROUNDS ->
		sketch_advance(t, memcg);
		d_step { use(t, memcg) };
		d_step { css_put(t, memcg) };
		rnd++
	:: else -> break
	od; skip;
	d_step { thread_done(t) }
}

proctype offliner(byte t) {
	byte pos, memcg, nx, c, r, q, w, ok, cand, nx2;
	d_step { status[DEAD] = DYING };     /* kill_css -> percpu_ref_kill */
	do
	:: skip; d_step { pos = cursor };
		if
		:: pos != DEAD -> break
		:: else -> sketch_advance(t, memcg); d_step { css_put(t, memcg) }
		fi
	od; skip;
	d_step { status[DEAD] = OFFLINE };   /* offline_css: CSS_ONLINE cleared after css_offline() */
	d_step { status[DEAD] = ZOMBIE; maybe_release(DEAD) };   /* css_put of kill_css's reference */
	d_step { thread_done(t) }
}

init {
	byte c, r, q;
	d_step { init_tree() };
	atomic {
		run advancer(0); run advancer(1); run offliner(2)
	};
	(ndone == NTHR) -> d_step { final_check(cursor) }
}
