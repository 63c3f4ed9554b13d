/* The loop clients share: a GMainContext with libwebsockets on it (its glib event-lib plugin,
 * libwebsockets-evlib-glib, loaded at run time) and the DTLS certificate. */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdlib.h>

#include "client_int.h"
#include "parley/log.h"

/* libsrtp2's srtp_init fails when called a second time (its debug module is already
 * registered), so a process with several loops initialises it once. */
static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static int srtp_status = -1;
static void srtp_init_once(void) { srtp_status = pl_srtp_global_init(); }

struct pl_client_loop *pl_client_loop_new(GMainContext *ctx)
{
    struct pl_client_loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_new();
    l->loop = g_main_loop_new(l->ctx, FALSE);
    pthread_once(&srtp_once, srtp_init_once);
    if (srtp_status != 0)
        goto fail;
    l->dtls = pl_dtls_ctx_new(l->fingerprint);
    if (!l->dtls)
        goto fail;

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {l->loop};
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = cl_sig_protocols();
    info.options = LWS_SERVER_OPTION_GLIB;
    info.foreign_loops = loops;
    info.gid = -1;
    info.uid = -1;
    /* libwebsockets' glib plugin runs its sources on the loop's context, which must be the
     * thread default while the context is made. */
    g_main_context_push_thread_default(l->ctx);
    l->lws = lws_create_context(&info);
    g_main_context_pop_thread_default(l->ctx);
    if (!l->lws) {
        PL_ERROR("client", "libwebsockets context on glib failed (is libwebsockets-evlib-glib "
                 "installed?)");
        goto fail;
    }
    return l;
fail:
    pl_client_loop_free(l);
    return NULL;
}

void pl_client_loop_free(struct pl_client_loop *l)
{
    if (!l)
        return;
    if (l->lws) {
        lws_context_destroy(l->lws);
        /* Let lws' glib sources finish closing. */
        for (int i = 0; i < 50 && g_main_context_iteration(l->ctx, FALSE); i++)
            ;
    }
    if (l->dtls)
        pl_dtls_ctx_free(l->dtls);
    g_main_loop_unref(l->loop);
    g_main_context_unref(l->ctx);
    free(l);
}

GMainContext *pl_client_loop_context(struct pl_client_loop *l) { return l->ctx; }
void pl_client_loop_run(struct pl_client_loop *l) { g_main_loop_run(l->loop); }
void pl_client_loop_quit(struct pl_client_loop *l) { g_main_loop_quit(l->loop); }
