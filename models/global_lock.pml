/*
 * models/global_lock.pml - mainline zswap_next_shrink under zswap_shrink_lock (spec 1.10, 1.11, 3.1).
 * Python counterpart: zswaplab check global_lock --threads 3 --memcgs 5 --rounds ROUNDS
 * Run: spin -a -DROUNDS=3 global_lock.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan
 */
#include "memcg.pml"

byte cursor = NONE;     /* zswap_next_shrink: owns the iterator's reference */
byte lk = 0;            /* zswap_shrink_lock: 0 free, holder t+1 */

proctype advancer(byte t) {
	byte rnd = 0, pos, memcg, nx, c, r, q, w, ok, cand, nx2;
	do
	:: rnd < ROUNDS ->
		atomic { lk == 0 -> lk = t + 1 };
		do
		:: skip; d_step { pos = cursor };
			d_step { iter_next(t, ROOT, pos, memcg) };
			d_step { css_put(t, pos) };
			d_step { give(t, memcg); cursor = memcg };
			if :: memcg == NONE -> break :: else fi; skip;
			d_step { tryget_online(t, memcg, ok) };
			if :: ok -> break :: else fi
		od; skip;
		d_step { lk = 0 };
		d_step { use(t, memcg) };
		d_step { css_put(t, memcg) };
		rnd++
	:: else -> break
	od; skip;
	d_step { thread_done(t) }
}

proctype offliner(byte t) {
	byte pos, nx, c, r, q, w, ok, cand, nx2;
	d_step { status[DEAD] = DYING };     /* kill_css -> percpu_ref_kill */
	atomic { lk == 0 -> lk = t + 1 };
	d_step { pos = cursor };
	if
	:: pos == DEAD ->
		do
		:: skip; d_step { iter_next(t, ROOT, pos, nx) };
			d_step { css_put(t, pos) };
			d_step { give(t, nx); cursor = nx; pos = nx };
			if :: pos == NONE -> break :: else fi; skip;
			if :: MEMCG_ONLINE(pos) -> break :: else fi
		od; skip
	:: else
	fi; skip;
	d_step { lk = 0 };
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
