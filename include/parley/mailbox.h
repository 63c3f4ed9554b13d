/* A message queue between threads, woken by uv_async on the receiving loop.
 * Senders on any thread post heap-allocated messages; the receiving loop's handler gets each
 * one in order and owns it (frees it). */
#ifndef PARLEY_MAILBOX_H
#define PARLEY_MAILBOX_H
#include <pthread.h>
#include <uv.h>

struct pl_msg {
    struct pl_msg *next;
    int type;
};

struct pl_mailbox;
typedef void (*pl_mailbox_fn)(struct pl_mailbox *mb, struct pl_msg *msg, void *user);

struct pl_mailbox {
    uv_async_t async;
    pthread_mutex_t mu;
    struct pl_msg *head;
    struct pl_msg *tail;
    pl_mailbox_fn handler;
    void *user;
    int closed;
};

/* Must run on the thread of `loop`. */
int pl_mailbox_init(struct pl_mailbox *mb, uv_loop_t *loop, pl_mailbox_fn handler, void *user);
/* Any thread. Returns -1 (and does not take the message) once the mailbox is closed. */
int pl_mailbox_post(struct pl_mailbox *mb, struct pl_msg *msg);
/* On the loop's thread: stops accepting, frees undelivered messages with free(), closes the
 * async handle (the loop must run once more for the close to finish). */
void pl_mailbox_close(struct pl_mailbox *mb);

#endif
