// pengyou's page script: likes, collects, follows, comments, the carousel,
// blurhash placeholders, the waterfall with infinite scroll, and the composer.
// Every change goes through the same Mastodon-compatible API that apps use;
// the pages work read-only without it.
'use strict';

(() => {
  const body = document.body;
  const strings = JSON.parse(document.getElementById('strings')?.textContent || '{}');
  const t = (key) => strings[key] || key;
  const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const lang = body.dataset.lang || 'en';
  const csrf = body.dataset.csrf || '';
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  // ---- API ----------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** The error an API answer describes: `{"error": message, "error_code": code}`. */
  const apiError = (status, json) => new ApiError(status, (json && (json.error_code || json.error)) || 'error', (json && json.error) || '');

  async function api(method, path, data, headers = {}) {
    const options = { method, credentials: 'same-origin', headers: { Accept: 'application/json', 'X-CSRF-Token': csrf, ...headers } };
    if (data instanceof FormData) {
      options.body = data;
    } else if (data !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(data);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch {
      throw new ApiError(0, 'network', '');
    }
    const json = await response.json().catch(() => null);
    if (!response.ok) {
      throw apiError(response.status, json);
    }
    return json;
  }

  /** A message a person can act on, in their language. */
  function errorText(error) {
    if (error.code === 'network') return t('err_network');
    if (error.status === 429) return t('err_rate_limited');
    const known = strings['err_' + error.code];
    if (known) return known;
    return lang === 'en' && error.message ? error.message : t('err_generic');
  }

  let toastTimer;
  function toast(text) {
    const box = $('#toast');
    if (!box) return;
    box.textContent = text;
    box.classList.add('show');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove('show'), 2600);
  }

  /** 12345 → "1.2万" / "12.3K", as the server writes counts. */
  function formatCount(n) {
    const short = (value, unit) => {
      const text = value < 100 ? (Math.floor(value * 10) / 10).toFixed(1) : value.toFixed(0);
      return text.replace(/\.0$/, '') + unit;
    };
    if (lang === 'zh') {
      if (n >= 1e8) return short(n / 1e8, '亿');
      if (n >= 1e4) return short(n / 1e4, '万');
    } else {
      if (n >= 1e6) return short(n / 1e6, 'M');
      if (n >= 1e3) return short(n / 1e3, 'K');
    }
    return String(n);
  }

  function setCount(button, n) {
    const span = $('[data-count]', button);
    if (span) {
      span.dataset.count = n;
      span.textContent = formatCount(n);
    }
  }

  function needsSignIn(element) {
    if (element.dataset.signIn) {
      location.href = element.dataset.signIn;
      return true;
    }
    return false;
  }

  const localPath = (url) => {
    try {
      const parsed = new URL(url, location.href);
      return parsed.pathname + parsed.search + parsed.hash;
    } catch {
      return url;
    }
  };

  async function fetchFragment(url) {
    const separator = url.includes('?') ? '&' : '?';
    const response = await fetch(url + separator + 'fragment=1', { credentials: 'same-origin' });
    if (!response.ok) throw new ApiError(response.status, 'error', '');
    const template = document.createElement('template');
    template.innerHTML = await response.text();
    return template.content;
  }

  // ---- likes, collects, follows, share --------------------------------------

  document.addEventListener('click', async (event) => {
    const like = event.target.closest('[data-like]');
    if (like) {
      event.preventDefault();
      if (needsSignIn(like)) return;
      const on = like.getAttribute('aria-pressed') === 'true';
      const count = Number($('[data-count]', like)?.dataset.count || 0);
      like.setAttribute('aria-pressed', String(!on));
      like.classList.toggle('on', !on);
      setCount(like, Math.max(0, count + (on ? -1 : 1)));
      try {
        const status = await api('POST', `/api/v1/statuses/${like.dataset.like}/${on ? 'unfavourite' : 'favourite'}`);
        setCount(like, status.favourites_count);
      } catch (error) {
        like.setAttribute('aria-pressed', String(on));
        like.classList.toggle('on', on);
        setCount(like, count);
        toast(errorText(error));
      }
      return;
    }

    const collect = event.target.closest('[data-collect]');
    if (collect) {
      if (needsSignIn(collect)) return;
      const dialog = $('[data-board-dialog]');
      if (dialog && dialog.showModal) dialog.showModal();
      return;
    }

    const board = event.target.closest('[data-board]');
    if (board) {
      const note = $('[data-collect]');
      try {
        const status = await api('POST', `/api/v1/pengyou/notes/${note.dataset.collect}/collect`, { board_id: board.dataset.board });
        markCollected(note, status, board.dataset.board);
        $('[data-board-dialog]')?.close();
        toast(t('collected'));
      } catch (error) {
        toast(errorText(error));
      }
      return;
    }

    const uncollect = event.target.closest('[data-uncollect]');
    if (uncollect) {
      const note = $('[data-collect]');
      try {
        const status = await api('POST', `/api/v1/statuses/${uncollect.dataset.uncollect}/unbookmark`);
        markCollected(note, status, '');
        $('[data-board-dialog]')?.close();
      } catch (error) {
        toast(errorText(error));
      }
      return;
    }

    if (event.target.closest('[data-close-dialog]')) {
      event.target.closest('dialog')?.close();
      return;
    }

    const share = event.target.closest('[data-share]');
    if (share) {
      const url = new URL(share.dataset.share, location.href).href;
      try {
        await navigator.clipboard.writeText(url);
        toast(t('link_copied'));
      } catch {
        window.prompt(t('copy_failed'), url);
      }
      return;
    }

    const follow = event.target.closest('[data-follow]');
    if (follow) {
      const following = follow.dataset.state !== 'none';
      follow.disabled = true;
      try {
        const relation = await api('POST', `/api/v1/accounts/${follow.dataset.follow}/${following ? 'unfollow' : 'follow'}`);
        const state = relation.following ? 'following' : relation.requested ? 'requested' : 'none';
        follow.dataset.state = state;
        follow.textContent = state === 'following' ? t('followed') : state === 'requested' ? t('follow_requested') : t('follow');
        follow.classList.toggle('secondary', state !== 'none');
        const followers = $('[data-followers]');
        if (followers && relation.following !== following) {
          const n = Math.max(0, Number(followers.dataset.n || followers.textContent.replace(/\D/g, '') || 0) + (relation.following ? 1 : -1));
          followers.dataset.n = n;
          followers.textContent = formatCount(n);
        }
      } catch (error) {
        toast(errorText(error));
      } finally {
        follow.disabled = false;
      }
      return;
    }

    const followTag = event.target.closest('[data-follow-tag]');
    if (followTag) {
      const on = followTag.getAttribute('aria-pressed') === 'true';
      try {
        await api('POST', `/api/v1/tags/${encodeURIComponent(followTag.dataset.followTag)}/${on ? 'unfollow' : 'follow'}`);
        followTag.setAttribute('aria-pressed', String(!on));
        followTag.classList.toggle('secondary', !on);
        followTag.textContent = on ? t('follow_tag') : t('unfollow_tag');
      } catch (error) {
        toast(errorText(error));
      }
      return;
    }

    const answer = event.target.closest('[data-answer-request]');
    if (answer) {
      const verb = answer.dataset.accept === 'true' ? 'authorize' : 'reject';
      try {
        await api('POST', `/api/v1/follow_requests/${answer.dataset.answerRequest}/${verb}`);
        answer.parentElement.remove();
      } catch (error) {
        toast(errorText(error));
      }
      return;
    }

    const remove = event.target.closest('[data-delete-note]');
    if (remove) {
      if (!window.confirm(t('confirm_delete'))) return;
      try {
        await api('DELETE', `/api/v1/statuses/${remove.dataset.deleteNote}`);
        toast(t('deleted'));
        const me = $('.tabs a[href^="/@"]');
        location.href = me ? me.getAttribute('href') : '/';
      } catch (error) {
        toast(errorText(error));
      }
    }
  });

  function markCollected(button, status, boardId) {
    button.setAttribute('aria-pressed', String(status.bookmarked));
    button.classList.toggle('on', status.bookmarked);
    setCount(button, status.pengyou ? status.pengyou.collects_count : 0);
    $$('[data-board]').forEach((b) => {
      if (b.dataset.board === boardId) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    });
  }

  const newBoard = $('[data-new-board]');
  if (newBoard) {
    newBoard.addEventListener('submit', async (event) => {
      event.preventDefault();
      const input = $('input[name=name]', newBoard);
      const name = input.value.trim();
      if (!name) return;
      try {
        const board = await api('POST', '/api/v1/pengyou/boards', { name });
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'board-choice';
        button.dataset.board = board.id;
        button.textContent = board.name;
        item.append(button);
        $('[data-board-list]').append(item);
        input.value = '';
        button.click();
      } catch (error) {
        toast(errorText(error));
      }
    });
  }

  // ---- media uploads (composer and photo comments) ---------------------------

  /** Uploads a file with progress; resolves to the finished attachment. */
  function upload(file, onProgress, onProcessing) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v2/media');
      xhr.setRequestHeader('X-CSRF-Token', csrf);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, 'network', '')));
      xhr.addEventListener('load', async () => {
        let json = null;
        try {
          json = JSON.parse(xhr.responseText);
        } catch {
          /* not JSON: reported below */
        }
        if (xhr.status === 200) return resolve(json);
        if (xhr.status === 202) {
          onProcessing();
          try {
            resolve(await waitForMedia(json.id));
          } catch (error) {
            reject(error);
          }
          return;
        }
        reject(apiError(xhr.status, json));
      });
      const form = new FormData();
      form.append('file', file);
      xhr.send(form);
    });
  }

  async function waitForMedia(id) {
    for (let delay = 500; ; delay = Math.min(delay * 1.5, 4000)) {
      await new Promise((r) => setTimeout(r, delay));
      const response = await fetch(`/api/v1/media/${id}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      const json = await response.json().catch(() => null);
      if (response.status === 200) return json;
      if (response.status !== 206) {
        throw apiError(response.status, json);
      }
    }
  }

  // ---- comments -----------------------------------------------------------

  const commentForm = $('[data-comment-form]');
  if (commentForm) {
    const text = $('textarea', commentForm);
    const photoInput = $('[data-comment-photo]', commentForm);
    const preview = $('[data-photo-preview]', commentForm);
    const errorBox = $('[data-comment-error]', commentForm);
    const replying = $('[data-replying]', commentForm);
    let replyTo = null;
    let photo = null;

    const showError = (message) => {
      errorBox.textContent = message;
      errorBox.hidden = !message;
    };

    document.addEventListener('click', (event) => {
      const reply = event.target.closest('[data-reply]');
      if (reply) {
        replyTo = { id: reply.dataset.reply, thread: reply.dataset.replyThread };
        $('[data-replying-name]', replying).textContent = fill(t('reply_to'), { name: reply.dataset.replyName });
        replying.hidden = false;
        text.focus();
      }
      if (event.target.closest('[data-cancel-reply]')) {
        replyTo = null;
        replying.hidden = true;
      }
      if (event.target.closest('[data-remove-photo]')) {
        photo = null;
        photoInput.value = '';
        preview.hidden = true;
        preview.replaceChildren();
      }
    });

    photoInput.addEventListener('change', () => {
      const file = photoInput.files[0];
      if (!file) return;
      photo = { file, media: null, promise: null };
      const image = document.createElement('img');
      image.src = URL.createObjectURL(file);
      image.alt = '';
      const state = document.createElement('span');
      state.textContent = t('uploading');
      const removeButton = document.createElement('button');
      removeButton.type = 'button';
      removeButton.className = 'link';
      removeButton.dataset.removePhoto = '';
      removeButton.textContent = t('remove_photo');
      preview.replaceChildren(image, state, removeButton);
      preview.hidden = false;
      showError('');
      const current = photo;
      current.promise = upload(file, (p) => (state.textContent = `${t('uploading')} ${p}%`), () => (state.textContent = t('processing')))
        .then((media) => {
          current.media = media;
          state.textContent = t('ready');
          return media;
        })
        .catch((error) => {
          state.textContent = '';
          showError(errorText(error));
          throw error;
        });
    });

    commentForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = text.value.trim();
      if (!status && !photo) return;
      const submit = $('button[type=submit]', commentForm);
      submit.disabled = true;
      showError('');
      try {
        const mediaIds = [];
        if (photo) {
          const media = await photo.promise;
          mediaIds.push(media.id);
        }
        const created = await api('POST', '/api/v1/statuses', {
          status,
          in_reply_to_id: replyTo ? replyTo.id : commentForm.dataset.note,
          media_ids: mediaIds,
        }, { 'Idempotency-Key': `${Date.now()}-${Math.random()}` });
        toast(t('comment_sent'));
        const page = $('[data-note-page]');
        const url = new URL(page.dataset.noteUrl, location.href);
        url.searchParams.set('sort', replyTo ? new URL(location.href).searchParams.get('sort') || 'hot' : 'new');
        url.searchParams.set('c', created.id);
        url.hash = 'comment-' + created.id;
        location.href = url.pathname + url.search + url.hash;
      } catch (error) {
        showError(errorText(error));
        submit.disabled = false;
      }
    });
  }

  document.addEventListener('click', async (event) => {
    const moreReplies = event.target.closest('[data-more-replies]');
    if (moreReplies) {
      event.preventDefault();
      try {
        const fragment = await fetchFragment(moreReplies.getAttribute('href'));
        const list = $(`[data-replies="${moreReplies.dataset.moreReplies}"]`);
        const row = moreReplies.closest('.more-row');
        (row || moreReplies).remove();
        list.append(fragment);
        hydrate(list);
      } catch (error) {
        toast(errorText(error));
      }
      return;
    }
    const moreComments = event.target.closest('[data-more-comments]');
    if (moreComments) {
      event.preventDefault();
      try {
        const fragment = await fetchFragment(moreComments.getAttribute('href'));
        const list = $('[data-comments]');
        moreComments.closest('.more-row').remove();
        list.append(fragment);
        hydrate(list);
      } catch (error) {
        toast(errorText(error));
      }
      return;
    }
    const pin = event.target.closest('[data-pin]');
    if (pin) {
      const noteId = $('[data-note-page]').dataset.notePage;
      const pinned = pin.dataset.pinned === 'true';
      try {
        if (pinned) await api('POST', `/api/v1/pengyou/notes/${noteId}/unpin_comment`);
        else await api('POST', `/api/v1/pengyou/notes/${noteId}/pin_comment`, { comment_id: pin.dataset.pin });
        toast(pinned ? t('unpin') : t('pinned'));
        location.reload();
      } catch (error) {
        toast(errorText(error));
      }
    }
  });

  // ---- blurhash placeholders -----------------------------------------------

  const BASE83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';
  const decode83 = (text) => [...text].reduce((value, c) => value * 83 + BASE83.indexOf(c), 0);
  const toLinear = (v) => {
    const x = v / 255;
    return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
  };
  const toSrgb = (v) => {
    const x = Math.max(0, Math.min(1, v));
    return Math.round(x <= 0.0031308 ? x * 12.92 * 255 + 0.5 : (1.055 * Math.pow(x, 1 / 2.4) - 0.055) * 255 + 0.5);
  };
  const signPow = (v, e) => Math.sign(v) * Math.pow(Math.abs(v), e);

  function blurhashPixels(hash, width, height) {
    if (!hash || hash.length < 6) return null;
    const size = decode83(hash[0]);
    const nx = (size % 9) + 1;
    const ny = Math.floor(size / 9) + 1;
    if (hash.length !== 4 + 2 * nx * ny) return null;
    const maximum = (decode83(hash[1]) + 1) / 166;
    const colors = [];
    const dc = decode83(hash.slice(2, 6));
    colors.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
    for (let i = 1; i < nx * ny; i++) {
      const v = decode83(hash.slice(4 + i * 2, 6 + i * 2));
      const q = [Math.floor(v / 361), Math.floor(v / 19) % 19, v % 19];
      colors.push(q.map((c) => signPow((c - 9) / 9, 2) * maximum));
    }
    const pixels = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let r = 0, g = 0, b = 0;
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++) {
            const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
            const c = colors[i + j * nx];
            r += c[0] * basis;
            g += c[1] * basis;
            b += c[2] * basis;
          }
        }
        const p = 4 * (x + y * width);
        pixels[p] = toSrgb(r);
        pixels[p + 1] = toSrgb(g);
        pixels[p + 2] = toSrgb(b);
        pixels[p + 3] = 255;
      }
    }
    return pixels;
  }

  function paintBlurhash(holder) {
    if (holder.dataset.painted) return;
    holder.dataset.painted = '1';
    const image = $('img', holder);
    if (!image || image.complete) return;
    const w = 24;
    const h = Math.max(1, Math.round((w * Number(holder.dataset.h || 1)) / Number(holder.dataset.w || 1)));
    const pixels = blurhashPixels(holder.dataset.blurhash, w, Math.min(h, 48));
    if (!pixels) return;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = Math.min(h, 48);
    canvas.setAttribute('aria-hidden', 'true');
    canvas.getContext('2d').putImageData(new ImageData(pixels, w, canvas.height), 0, 0);
    holder.prepend(canvas);
    image.classList.add('loading');
    const done = () => {
      image.classList.remove('loading');
      setTimeout(() => canvas.remove(), 400);
    };
    image.addEventListener('load', done, { once: true });
    image.addEventListener('error', done, { once: true });
  }

  // ---- waterfall and infinite scroll ----------------------------------------

  function columnCount(width) {
    if (width >= 1400) return 5;
    if (width >= 1050) return 4;
    if (width >= 640) return 3;
    return 2;
  }

  function setUpWaterfall(container) {
    const cards = $$('[data-card]', container);
    const more = $('[data-more]', container);
    let columns = [];
    let heights = [];
    const layout = (all) => {
      const count = columnCount(container.clientWidth || window.innerWidth);
      columns = Array.from({ length: count }, () => {
        const column = document.createElement('div');
        column.className = 'column';
        return column;
      });
      heights = new Array(count).fill(0);
      container.replaceChildren(...columns);
      container.classList.add('js');
      place(all);
      container.dataset.columns = count;
    };
    const place = (items) => {
      for (const card of items) {
        const cover = $('.cover', card);
        const ratio = cover ? Number(cover.dataset.h) / Number(cover.dataset.w) : 0.4;
        const shortest = heights.indexOf(Math.min(...heights));
        columns[shortest].append(card);
        heights[shortest] += ratio + 0.35;
      }
    };
    const all = [...cards];
    layout(all);
    if (more) container.after(more);
    window.addEventListener('resize', () => {
      if (columnCount(container.clientWidth) !== Number(container.dataset.columns)) layout(all);
    });
    if (!more) return;
    let loading = false;
    const observer = new IntersectionObserver(async (entries) => {
      if (!entries.some((e) => e.isIntersecting) || loading) return;
      const link = container.nextElementSibling;
      if (!link || !link.matches('[data-more]')) return;
      loading = true;
      link.textContent = t('loading');
      try {
        const fragment = await fetchFragment(link.getAttribute('href'));
        const fresh = $$('[data-card]', fragment).filter((card) => !$(`[data-card][data-note="${card.dataset.note}"]`, container));
        const next = $('[data-more]', fragment);
        place(fresh);
        all.push(...fresh);
        fresh.forEach(hydrate);
        observer.unobserve(link);
        if (next && fresh.length) {
          link.replaceWith(next);
          observer.observe(next);
        } else {
          const end = document.createElement('p');
          end.className = 'more';
          end.textContent = t('end_of_list');
          link.replaceWith(end);
        }
      } catch (error) {
        link.textContent = t('load_more');
        toast(errorText(error));
      } finally {
        loading = false;
      }
    }, { rootMargin: '600px 0px' });
    observer.observe(more);
  }

  // ---- carousel -------------------------------------------------------------

  function setUpCarousel(carousel) {
    const slides = $('[data-slides]', carousel);
    const items = $$('.slide', slides);
    const dots = $$('[data-dot]', carousel);
    const counter = $('[data-counter]', carousel);
    const prev = $('[data-prev]', carousel);
    const next = $('[data-next]', carousel);
    let index = 0;
    const show = (i) => {
      index = Math.max(0, Math.min(items.length - 1, i));
      slides.scrollTo({ left: index * slides.clientWidth });
      update();
    };
    const update = () => {
      dots.forEach((dot, i) => (i === index ? dot.setAttribute('aria-current', 'true') : dot.removeAttribute('aria-current')));
      if (counter) counter.textContent = `${index + 1}/${items.length}`;
      if (prev) prev.disabled = index === 0;
      if (next) next.disabled = index === items.length - 1;
      slides.setAttribute('aria-label', fill(t('image_position'), { n: index + 1, total: items.length }));
    };
    slides.addEventListener('scroll', () => {
      const i = Math.round(slides.scrollLeft / Math.max(1, slides.clientWidth));
      if (i !== index) {
        index = i;
        update();
      }
    }, { passive: true });
    prev?.addEventListener('click', () => show(index - 1));
    next?.addEventListener('click', () => show(index + 1));
    dots.forEach((dot) => dot.addEventListener('click', (e) => {
      e.preventDefault();
      show(Number(dot.dataset.dot));
    }));
    document.addEventListener('keydown', (e) => {
      if (e.target.closest('input, textarea, select, [contenteditable], dialog')) return;
      if (e.key === 'ArrowRight') show(index + 1);
      else if (e.key === 'ArrowLeft') show(index - 1);
    });
    update();
  }

  // ---- composer -------------------------------------------------------------

  const graphemes = (() => {
    if (window.Intl && Intl.Segmenter) {
      const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
      return (text) => [...segmenter.segment(text)].length;
    }
    return (text) => [...text].length;
  })();

  function setUpCounters(root) {
    $$('[data-limit]', root).forEach((field) => {
      const counter = $(`[data-counter-for="${field.id}"]`, root);
      const limit = Number(field.dataset.limit);
      const update = () => {
        const n = graphemes(field.value);
        counter.textContent = `${n}/${limit}`;
        counter.classList.toggle('over', n > limit);
        field.setAttribute('aria-invalid', String(n > limit));
      };
      field.addEventListener('input', update);
      update();
    });
  }

  function setUpComposer(form) {
    const list = $('[data-uploads]', form);
    const input = $('[data-files]', form);
    const drop = $('[data-dropzone]', form);
    const mediaError = $('[data-media-error]', form);
    const formError = $('[data-compose-error]', form);
    const template = $('#upload-item');
    const items = [];
    const say = (box, message) => {
      box.textContent = message;
      box.hidden = !message;
    };
    setUpCounters(form);

    const kindOf = (file) => (file.type.startsWith('video/') ? 'video' : file.type.startsWith('image/') ? 'image' : 'other');

    const render = () => {
      items.forEach((item, i) => {
        list.append(item.element);
        const [earlier, later] = $$('[data-move]', item.element);
        earlier.disabled = i === 0;
        later.disabled = i === items.length - 1;
      });
      drop.hidden = items.some((i) => i.kind === 'video') || items.length >= 18;
    };

    const add = (files) => {
      say(mediaError, '');
      const problems = [];
      for (const file of files) {
        const kind = kindOf(file);
        if (kind === 'other') {
          problems.push(`${file.name}: ${t('err_unsupported_media_type')}`);
          continue;
        }
        if ((kind === 'video' && items.length) || (kind === 'image' && items.some((i) => i.kind === 'video'))) {
          problems.push(t('mixed_media'));
          continue;
        }
        if (items.length >= 18) {
          problems.push(t('too_many_files'));
          break;
        }
        const element = template.content.firstElementChild.cloneNode(true);
        const item = { file, kind, element, media: null, failed: false, promise: null };
        const thumb = $('.thumb', element);
        const state = $('.state', element);
        const progress = $('progress', element);
        if (kind === 'image') {
          $('img', thumb).src = URL.createObjectURL(file);
        } else {
          const video = document.createElement('video');
          video.src = URL.createObjectURL(file);
          video.muted = true;
          $('img', thumb).replaceWith(video);
        }
        const alt = $('.alt', element);
        const altId = `alt-${Math.random().toString(36).slice(2)}`;
        alt.id = altId;
        alt.placeholder = t('alt_text');
        const altLabel = $('label', element);
        altLabel.htmlFor = altId;
        altLabel.textContent = `${t('alt_text')} (${file.name})`;
        const [earlier, later] = $$('[data-move]', element);
        earlier.setAttribute('aria-label', t('move_earlier'));
        later.setAttribute('aria-label', t('move_later'));
        $('[data-remove]', element).setAttribute('aria-label', `${t('remove')} ${file.name}`);
        state.textContent = t('uploading');
        item.promise = upload(file, (p) => {
          progress.value = p;
          state.textContent = `${t('uploading')} ${p}%`;
        }, () => {
          progress.removeAttribute('value');
          state.textContent = t('processing');
        }).then((media) => {
          item.media = media;
          progress.remove();
          state.textContent = '';
          element.dataset.mediaId = media.id;
        }).catch((error) => {
          item.failed = true;
          progress.remove();
          element.classList.add('failed');
          state.textContent = errorText(error);
          say(mediaError, `${file.name}: ${errorText(error)}`);
        });
        items.push(item);
      }
      if (problems.length) say(mediaError, [...new Set(problems)].join(' '));
      render();
    };

    input.addEventListener('change', () => {
      add([...input.files]);
      input.value = '';
    });
    ['dragenter', 'dragover'].forEach((type) => drop.addEventListener(type, (e) => {
      if (!e.dataTransfer || ![...e.dataTransfer.types].includes('Files')) return;
      e.preventDefault();
      drop.classList.add('over');
    }));
    ['dragleave', 'drop'].forEach((type) => drop.addEventListener(type, () => drop.classList.remove('over')));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      add([...e.dataTransfer.files]);
    });

    const move = (item, by) => {
      const i = items.indexOf(item);
      const j = i + by;
      if (j < 0 || j >= items.length) return;
      items.splice(i, 1);
      items.splice(j, 0, item);
      render();
    };
    list.addEventListener('click', (e) => {
      const element = e.target.closest('.upload');
      const item = items.find((i) => i.element === element);
      if (!item) return;
      const mover = e.target.closest('[data-move]');
      if (mover) {
        move(item, Number(mover.dataset.move));
        mover.focus();
      }
      if (e.target.closest('[data-remove]')) {
        items.splice(items.indexOf(item), 1);
        element.remove();
        render();
      }
    });
    // Reordering by dragging one photo onto another.
    let dragged = null;
    list.addEventListener('dragstart', (e) => {
      dragged = items.find((i) => i.element === e.target.closest('.upload'));
      if (dragged) dragged.element.classList.add('dragging');
    });
    list.addEventListener('dragend', () => {
      if (dragged) dragged.element.classList.remove('dragging');
      dragged = null;
    });
    list.addEventListener('dragover', (e) => {
      if (dragged) e.preventDefault();
    });
    list.addEventListener('drop', (e) => {
      if (!dragged) return;
      e.preventDefault();
      const target = items.find((i) => i.element === e.target.closest('.upload'));
      if (target && target !== dragged) {
        items.splice(items.indexOf(dragged), 1);
        items.splice(items.indexOf(target) + (e.offsetX > target.element.clientWidth / 2 ? 1 : 0), 0, dragged);
        render();
      }
    });

    $$('[data-add-tag]', form).forEach((chip) => chip.addEventListener('click', () => {
      const text = $('#body', form);
      const tag = `#${chip.dataset.addTag}`;
      if (!text.value.includes(tag)) {
        text.value = `${text.value.trimEnd()}${text.value.trim() ? ' ' : ''}${tag} `;
        text.dispatchEvent(new Event('input'));
      }
      text.focus();
    }));

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      say(formError, '');
      const title = $('#title', form).value.trim();
      const status = $('#body', form).value;
      if (!items.length && !status.trim()) return say(formError, t('need_content'));
      if ($$('[aria-invalid="true"]', form).length) return say(formError, t('over_limit'));
      if (items.some((i) => i.failed)) return say(formError, t('err_generic'));
      const publish = $('[data-publish]', form);
      publish.disabled = true;
      publish.textContent = t('publishing');
      try {
        if (items.some((i) => !i.media)) {
          say(formError, t('wait_for_uploads'));
          await Promise.all(items.map((i) => i.promise));
          if (items.some((i) => i.failed)) throw new ApiError(422, 'media_unreadable', '');
          say(formError, '');
        }
        for (const item of items) {
          const description = $('.alt', item.element).value.trim();
          if (description) await api('PUT', `/api/v1/media/${item.media.id}`, { description });
        }
        const language = $('#language', form).value;
        const note = await api('POST', '/api/v1/statuses', {
          title: title || undefined,
          status,
          media_ids: items.map((i) => i.media.id),
          visibility: $('#visibility', form).value,
          language: language || undefined,
        }, { 'Idempotency-Key': `${Date.now()}-${Math.random()}` });
        location.href = localPath(note.url);
      } catch (error) {
        say(formError, errorText(error));
        publish.disabled = false;
        publish.textContent = t('publish');
      }
    });
  }

  // ---- start ------------------------------------------------------------

  function hydrate(root) {
    $$('[data-blurhash]', root).forEach(paintBlurhash);
  }

  hydrate(document);
  $$('[data-waterfall]').forEach(setUpWaterfall);
  $$('[data-carousel]').forEach(setUpCarousel);
  $$('[data-composer]').forEach(setUpComposer);
})();
