#include "parley/mailbox.h"

#include <stdlib.h>

static void on_async(uv_async_t *a)
{
    struct pl_mailbox *mb = a->data;
    pthread_mutex_lock(&mb->mu);
    struct pl_msg *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->mu);
    while (m) {
        struct pl_msg *next = m->next;
        m->next = NULL;
        mb->handler(mb, m, mb->user);
        m = next;
    }
}

int pl_mailbox_init(struct pl_mailbox *mb, uv_loop_t *loop, pl_mailbox_fn handler, void *user)
{
    mb->head = mb->tail = NULL;
    mb->handler = handler;
    mb->user = user;
    mb->closed = 0;
    if (pthread_mutex_init(&mb->mu, NULL) != 0)
        return -1;
    if (uv_async_init(loop, &mb->async, on_async) != 0) {
        pthread_mutex_destroy(&mb->mu);
        return -1;
    }
    mb->async.data = mb;
    return 0;
}

int pl_mailbox_post(struct pl_mailbox *mb, struct pl_msg *msg)
{
    msg->next = NULL;
    pthread_mutex_lock(&mb->mu);
    if (mb->closed) {
        pthread_mutex_unlock(&mb->mu);
        return -1;
    }
    if (mb->tail)
        mb->tail->next = msg;
    else
        mb->head = msg;
    mb->tail = msg;
    /* Sent under the lock so that close cannot free the handle between append and send. */
    uv_async_send(&mb->async);
    pthread_mutex_unlock(&mb->mu);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    struct pl_mailbox *mb = h->data;
    pthread_mutex_destroy(&mb->mu);
}

void pl_mailbox_close(struct pl_mailbox *mb)
{
    pthread_mutex_lock(&mb->mu);
    mb->closed = 1;
    struct pl_msg *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->mu);
    while (m) {
        struct pl_msg *next = m->next;
        free(m);
        m = next;
    }
    uv_close((uv_handle_t *)&mb->async, on_closed);
}
