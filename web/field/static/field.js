/* fieldkit field station: autosave of answers and photo uploads (no libraries, no network
   other than this station). Every form also works without this script. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var csrf = "";
  var strings = {};

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function fmt(text, params) {
    return String(text || "").replace(/\{(\w+)\}/g, function (_, key) {
      return params && key in params ? params[key] : "{" + key + "}";
    });
  }

  function setStatus(article, text, kind) {
    var status = $("[data-status]", article);
    if (!status) return;
    status.textContent = text || "";
    status.className = "item-status" + (kind ? " " + kind : "");
  }

  function setFlag(article, flagged) {
    var badge = $("[data-flag]", article);
    if (badge) badge.hidden = !flagged;
    article.classList.toggle("flagged", !!flagged);
  }

  function setRev(article, rev) {
    article.dataset.rev = rev || "";
    var field = $("input[name=expected_rev]", article);
    if (field) field.value = rev || "";
    article.classList.toggle("answered", !!rev);
    var clear = $(".clear-button", article);
    if (clear) clear.hidden = !rev;
  }

  /* Progress, flags and skip logic after a save (the server computes them). */
  function applyState(state) {
    if (!state) return;
    var readonly = $("[data-fill]") && $("[data-fill]").dataset.readonly === "true";
    var hidden = {};
    (state.hidden || []).forEach(function (code) { hidden[code] = true; });
    $all("article[data-item]").forEach(function (article) {
      var isHidden = !!hidden[article.dataset.item];
      article.hidden = isHidden;
      var fields = $("fieldset.item-fields", article);
      if (fields) fields.disabled = isHidden || readonly;
      var upload = $(".upload-form", article);
      if (upload) upload.hidden = isHidden;
    });
    (state.sections || []).forEach(function (section) {
      var count = $('[data-section-count="' + section.code + '"]');
      if (count) {
        count.textContent = section.required_answered + "/" + section.required;
        count.classList.toggle("done", section.required_answered === section.required);
      }
      var flags = $('[data-section-flags="' + section.code + '"]');
      if (flags) {
        flags.textContent = "⚑ " + section.flagged;
        flags.hidden = !section.flagged;
      }
    });
    var counter = $("[data-open-counter]");
    if (counter) {
      var open = (state.missing_required || []).length;
      counter.textContent = fmt(strings.open_required, { n: open });
      counter.classList.toggle("done", open === 0);
    }
  }

  function readAnswer(article) {
    var form = $("form.answer-form", article);
    var type = article.dataset.type;
    var value = null;
    if (type === "yes_no" || type === "choice") {
      var checked = $("input[name=value]:checked", form);
      value = checked ? checked.value : "";
    } else if (type !== "photo") {
      var input = $("[name=value]", form);
      value = input ? input.value.trim() : "";
    }
    var extras = {};
    $all("[data-extra]", form).forEach(function (input) { extras[input.dataset.extra] = input.value.trim(); });
    var note = $("textarea[name=note]", form);
    return { value: value, extras: extras, note: note ? note.value : "" };
  }

  function showValue(article, finding) {
    /* Put the stored answer back into the inputs (after a conflict). */
    var form = $("form.answer-form", article);
    var value = finding ? finding.value : "";
    var type = article.dataset.type;
    if (type === "yes_no" || type === "choice") {
      $all("input[name=value]", form).forEach(function (radio) { radio.checked = radio.value === value; });
    } else if (type !== "photo") {
      var input = $("[name=value]", form);
      if (input) input.value = value === null || value === undefined ? "" : value;
    }
    var note = $("textarea[name=note]", form);
    if (note) note.value = finding && finding.note ? finding.note : "";
    $all("[data-extra]", form).forEach(function (input) {
      var extras = finding && finding.extras ? finding.extras : {};
      input.value = extras[input.dataset.extra] !== undefined ? extras[input.dataset.extra] : "";
    });
    setRev(article, finding ? finding.rev : "");
    setFlag(article, finding && finding.flagged);
  }

  function refusal(response, body) {
    if (response.status === 401) return strings.session;
    if (response.status === 403) return body && body.error ? body.error : strings.forbidden;
    if (response.status === 413) return body && body.error ? body.error : strings.too_large;
    return body && body.error ? body.error : strings.network;
  }

  function send(method, url, body, isForm) {
    var headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
    if (!isForm) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        body: isForm ? body : JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return null; })
          .then(function (json) { return { response: response, body: json }; });
      });
  }

  /* One save at a time per item, each sent with the revision the page holds. */
  function queue(article, task) {
    var previous = article._saving || Promise.resolve();
    article._saving = previous.then(task, task);
    return article._saving;
  }

  function save(article) {
    return queue(article, function () {
      var form = $("form.answer-form", article);
      var answer = readAnswer(article);
      var hasRev = !!article.dataset.rev;
      var empty = answer.value === "";
      var key = JSON.stringify(answer);
      if (hasRev && key === article._savedKey) return null;  // nothing changed since the save
      if (empty && article.dataset.type !== "photo") {
        if (hasRev) return clear(article, true);
        var extraGiven = Object.keys(answer.extras).some(function (k) { return answer.extras[k]; });
        if (answer.note.trim() || extraGiven) setStatus(article, strings.answer_first, "error");
        else setStatus(article, "", "");
        return null;
      }
      setStatus(article, strings.saving, "busy");
      var payload = { extras: answer.extras, note: answer.note, expected_rev: article.dataset.rev || null };
      if (article.dataset.type !== "photo") payload.value = answer.value;
      return send("PUT", form.dataset.api, payload).then(function (result) {
        article._savedKey = result.response.ok ? key : null;
        handleSaved(article, result);
      }, function () { setStatus(article, strings.network, "error"); });
    });
  }

  function clear(article, inQueue) {
    var run = function () {
      var form = $("form.answer-form", article);
      setStatus(article, strings.saving, "busy");
      return send("DELETE", form.dataset.api, { expected_rev: article.dataset.rev || null })
        .then(function (result) { handleSaved(article, result); },
              function () { setStatus(article, strings.network, "error"); });
    };
    return inQueue ? run() : queue(article, run);
  }

  function handleSaved(article, result) {
    var body = result.body || {};
    if (result.response.ok) {
      if (body.cleared) showValue(article, null);
      else { setRev(article, body.rev); setFlag(article, body.flagged); }
      setStatus(article, body.message || strings.saved, "ok");
      applyState(body.state);
    } else if (result.response.status === 409) {
      showValue(article, body.current);
      setStatus(article, body.error, "error");
    } else {
      setStatus(article, refusal(result.response, body), "error");
    }
  }

  function thumbnail(evidence) {
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = evidence.file_url;
    link.target = "_blank";
    link.rel = "noopener";
    if (evidence.thumbnail_url) {
      var image = document.createElement("img");
      image.src = evidence.thumbnail_url;
      image.alt = evidence.caption || evidence.filename || "";
      image.width = 96;
      image.height = 96;
      link.appendChild(image);
    } else {
      link.className = "file-chip";
      link.textContent = evidence.filename || "PDF";
    }
    item.appendChild(link);
    return item;
  }

  function upload(article, input) {
    var form = input.form;
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) return;
    files.forEach(function (file) {
      queue(article, function () {
        setStatus(article, strings.uploading, "busy");
        var data = new FormData();
        data.append("file", file, file.name);
        data.append("item", article.dataset.item);
        return send("POST", form.dataset.api, data, true).then(function (result) {
          var body = result.body || {};
          if (!result.response.ok) {
            setStatus(article, refusal(result.response, body), "error");
            return;
          }
          $("[data-thumbs]", article).appendChild(thumbnail(body.evidence));
          var count = $("[data-evidence-count]");
          if (count) count.textContent = String(Number(count.textContent) + 1);
          if (body.finding) { setRev(article, body.finding.rev); setFlag(article, body.finding.flagged); }
          setStatus(article, body.problem || body.message || strings.uploaded, body.problem ? "error" : "ok");
          applyState(body.state);
        }, function () { setStatus(article, strings.network, "error"); });
      });
    });
    input.value = "";
  }

  function wire(article) {
    var form = $("form.answer-form", article);
    if (!form) return;
    var timer = null;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      if (submitter && submitter.value === "clear") clear(article, false);
      else save(article);
    });
    form.addEventListener("change", function () { clearTimeout(timer); save(article); });
    form.addEventListener("input", function (event) {
      if (event.target.tagName !== "TEXTAREA" && event.target.type !== "text") return;
      clearTimeout(timer);
      timer = setTimeout(function () { save(article); }, 900);
    });
    var uploadForm = $(".upload-form", article);
    if (uploadForm) {
      uploadForm.addEventListener("submit", function (event) { event.preventDefault(); });
      var camera = $(".camera-input", uploadForm);
      camera.addEventListener("change", function () { upload(article, camera); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var meta = $('meta[name="csrf-token"]');
    csrf = meta ? meta.content : "";
    var source = $("#fk-strings");
    if (source) {
      try { strings = JSON.parse(source.textContent); } catch (e) { strings = {}; }
    }
    $all("article[data-item]").forEach(wire);
  });
})();
