/*
 * models/global_lock.pml - mainline zswap_next_shrink under zswap_shrink_lock (spec 1.10, 1.11, 3.1).
 * Python counterpart: zswaplab check global_lock --threads 3 --memcgs 5 --rounds ROUNDS
 *   (zswaplab/concurrency/algorithms.py: advancer -> advance_locked -> _locked_advance -> mem_cgroup_iter;
 *    offliner -> cleanup_locked -> _locked_cleanup_one -> mem_cgroup_iter). One d_step per Python yield,
 *   locals named after the Python frames' (see memcg.pml).
 * Run: spin -a -DROUNDS=3 global_lock.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan
 */
#include "memcg.pml"

byte cursor = NONE;     /* zswap_next_shrink: owns the iterator's reference */
byte lk = 0;            /* zswap_shrink_lock: 0 free, holder t+1 */
/* Every process loop is an end state (a finished thread rests there, pc == DONE): with one lock the only
 * deadlock is a thread finishing while it holds the lock, which thread_done's caller asserts against. */

/* advancer positions: advance_locked, _locked_advance, mem_cgroup_iter, advancer */
#define A_LOCK 1
#define A_LOAD 2
#define A_ITER 3
#define A_PUTPREV 4
#define A_STORE 5
#define A_TRYGET 6
#define A_UNLOCK 7
#define A_USE 8
#define A_PUT 9

/* advancer: rnd (advancer's r), am (advancer's memcg), alm (advance_locked's memcg), pos / lm / ok
 * (_locked_advance's pos, memcg, ok), nxt (mem_cgroup_iter's) */
active [NADV] proctype advancer() {
	byte pc = A_LOCK, rnd = 0, am = UNSET, alm = UNSET, pos = UNSET, lm = UNSET, ok = UNSET, nxt = UNSET;
end:	do
	:: d_step { pc == A_LOCK && lk == 0 -> lk = _pid + 1; pc = A_LOAD }
	:: d_step { pc == A_LOAD -> pos = cursor; pc = A_ITER }
	:: d_step { pc == A_ITER -> iter_next(_pid, ROOT, pos, nxt);
		if :: pos != NONE && pos != ROOT -> pc = A_PUTPREV :: else -> lm = nxt; nxt = UNSET; pc = A_STORE fi }
	:: d_step { pc == A_PUTPREV -> css_put(_pid, pos); lm = nxt; nxt = UNSET; pc = A_STORE }
	:: d_step { pc == A_STORE -> give(_pid, lm, ROOT); cursor = lm;
		if :: lm == NONE -> alm = NONE; pos = UNSET; lm = UNSET; ok = UNSET; pc = A_UNLOCK :: else -> pc = A_TRYGET fi }
	:: d_step { pc == A_TRYGET -> tryget_online(_pid, lm, ok);
		if :: ok -> alm = lm; pos = UNSET; lm = UNSET; ok = UNSET; pc = A_UNLOCK :: else -> pc = A_LOAD fi }
	:: d_step { pc == A_UNLOCK -> lk = 0; am = alm; alm = UNSET; pc = A_USE }
	:: d_step { pc == A_USE -> use(_pid, am);
		if
		:: am != NONE && am != ROOT -> pc = A_PUT
		:: else -> rnd++;
			if :: rnd < ROUNDS -> pc = A_LOCK :: else -> rnd = UNSET; am = UNSET; assert(lk != _pid + 1); thread_done(_pid, cursor) fi
		fi }
	:: d_step { pc == A_PUT -> css_put(_pid, am); rnd++;
		if :: rnd < ROUNDS -> pc = A_LOCK :: else -> rnd = UNSET; am = UNSET; assert(lk != _pid + 1); thread_done(_pid, cursor) fi }
	od
}

/* offliner positions: offliner, cleanup_locked, _locked_cleanup_one, mem_cgroup_iter */
#define O_KILL 1
#define O_LOCK 2
#define O_LOAD 3
#define O_ITER 4
#define O_PUTPREV 5
#define O_STORE 6
#define O_ONLINE 7
#define O_UNLOCK 8
#define O_OFFLINE 9
#define O_DROP 10

/* offliner: pos / on (_locked_cleanup_one's), nxt (mem_cgroup_iter's); cleanup_locked's i is 0 from O_LOAD to
 * O_ONLINE and 1 at O_UNLOCK (a function of pc) */
active proctype offliner() {
	byte pc = O_KILL, pos = UNSET, on = UNSET, nxt = UNSET;
end:	do
	:: d_step { pc == O_KILL -> status[DEAD] = DYING; pc = O_LOCK }     /* kill_css -> percpu_ref_kill */
	:: d_step { pc == O_LOCK && lk == 0 -> lk = _pid + 1; pc = O_LOAD }
	:: d_step { pc == O_LOAD -> pos = cursor;
		if :: pos == DEAD -> pc = O_ITER :: else -> pos = UNSET; pc = O_UNLOCK fi }
	:: d_step { pc == O_ITER -> iter_next(_pid, ROOT, pos, nxt);
		if :: pos != NONE && pos != ROOT -> pc = O_PUTPREV :: else -> pos = nxt; nxt = UNSET; pc = O_STORE fi }
	:: d_step { pc == O_PUTPREV -> css_put(_pid, pos); pos = nxt; nxt = UNSET; pc = O_STORE }
	:: d_step { pc == O_STORE -> give(_pid, pos, ROOT); cursor = pos;
		if :: pos == NONE -> pos = UNSET; on = UNSET; pc = O_UNLOCK :: else -> pc = O_ONLINE fi }
	:: d_step { pc == O_ONLINE -> assert(status[pos] != RELEASED); on = MEMCG_ONLINE(pos);
		if :: on -> pos = UNSET; on = UNSET; pc = O_UNLOCK :: else -> pc = O_ITER fi }
	:: d_step { pc == O_UNLOCK -> lk = 0; pc = O_OFFLINE }
	:: d_step { pc == O_OFFLINE -> status[DEAD] = OFFLINE; pc = O_DROP }   /* offline_css: CSS_ONLINE cleared */
	:: d_step { pc == O_DROP -> status[DEAD] = ZOMBIE; maybe_release(DEAD);  /* css_put of kill_css's ref */
		assert(lk != _pid + 1); thread_done(_pid, cursor) }
	od
}
