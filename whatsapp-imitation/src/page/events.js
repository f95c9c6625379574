// whatsapp-imitation: a tiny Backbone-like event system, as WhatsApp Web's models and
// collections present it to whatsapp-web.js and wa-js:
//   emitter.on('change:state', (model, value, previous) => …), off, once, trigger;
//   a model's attributes are properties; setting one emits 'change:<name>' and 'change';
//   a collection re-emits its models' events (Msg.on('change:ack', (msg, ack) => …)).
(() => {
  'use strict';

  const ns = (window.__waImitation = window.__waImitation || {});

  const words = (names) => String(names).split(/\s+/).filter(Boolean);

  // A listener that throws must not break whoever triggered the event (our poll loop): report
  // it as an uncaught error instead, as a browser would for an event handler.
  function call(handler, self, args) {
    try {
      handler.callback.apply(handler.context === undefined ? self : handler.context, args);
    } catch (error) {
      setTimeout(() => {
        throw error;
      });
    }
  }

  class Emitter {
    constructor() {
      Object.defineProperty(this, '_handlers', { value: new Map() });
    }

    on(names, callback, context) {
      return this._listen(names, callback, context, false);
    }

    once(names, callback, context) {
      return this._listen(names, callback, context, true);
    }

    _listen(names, callback, context, once) {
      if (typeof callback !== 'function') return this;
      for (const name of words(names)) {
        if (!this._handlers.has(name)) this._handlers.set(name, []);
        this._handlers.get(name).push({ callback, context, once });
      }
      return this;
    }

    off(names, callback) {
      const targets = names ? words(names) : [...this._handlers.keys()];
      for (const name of targets) {
        const list = this._handlers.get(name);
        if (!list) continue;
        const kept = callback ? list.filter((h) => h.callback !== callback) : [];
        if (kept.length) this._handlers.set(name, kept);
        else this._handlers.delete(name);
      }
      return this;
    }

    trigger(names, ...args) {
      for (const name of words(names)) {
        const list = this._handlers.get(name);
        if (list) {
          for (const handler of [...list]) {
            if (handler.once) this.off(name, handler.callback);
            call(handler, this, args);
          }
        }
        const all = this._handlers.get('all');
        if (all && name !== 'all') {
          for (const handler of [...all]) call(handler, this, [name, ...args]);
        }
      }
      return this;
    }
  }

  class Model extends Emitter {
    constructor(attributes) {
      super();
      Object.defineProperty(this, 'attributes', { value: {} });
      Object.defineProperty(this, '_collections', { value: new Set() });
      for (const [name, value] of Object.entries(attributes || {})) {
        this._define(name);
        this.attributes[name] = value;
      }
    }

    _define(name) {
      if (Object.prototype.hasOwnProperty.call(this, name)) return;
      Object.defineProperty(this, name, {
        get: () => this.attributes[name],
        set: (value) => this.set(name, value),
        enumerable: true,
        configurable: true,
      });
    }

    get(name) {
      return this.attributes[name];
    }

    set(name, value) {
      const changes = typeof name === 'object' && name !== null ? name : { [name]: value };
      const changed = [];
      for (const [key, next] of Object.entries(changes)) {
        this._define(key);
        const previous = this.attributes[key];
        this.attributes[key] = next;
        if (previous !== next) changed.push([key, next, previous]);
      }
      for (const [key, next, previous] of changed) {
        this.trigger('change:' + key, this, next, previous);
      }
      if (changed.length) this.trigger('change', this);
      return this;
    }

    serialize() {
      return { ...this.attributes };
    }

    toJSON() {
      return this.serialize();
    }

    trigger(names, ...args) {
      super.trigger(names, ...args);
      for (const collection of this._collections) collection.trigger(names, ...args);
      return this;
    }
  }

  class Collection extends Emitter {
    constructor() {
      super();
      Object.defineProperty(this, '_byId', { value: new Map() });
      Object.defineProperty(this, '_models', { value: [], enumerable: false });
    }

    get length() {
      return this._models.length;
    }

    _key(id) {
      if (id === null || id === undefined) return undefined;
      if (id instanceof Model) return String(id.id);
      return String(id);
    }

    add(model) {
      const key = this._key(model.id);
      const existing = this._byId.get(key);
      if (existing) return existing;
      this._byId.set(key, model);
      this._models.push(model);
      model._collections.add(this);
      this.trigger('add', model, this);
      return model;
    }

    remove(model) {
      const key = this._key(model && model.id);
      const existing = this._byId.get(key);
      if (!existing) return [];
      this._byId.delete(key);
      this._models.splice(this._models.indexOf(existing), 1);
      existing._collections.delete(this);
      this.trigger('remove', existing, this);
      return [existing];
    }

    get(id) {
      const key = this._key(id);
      return key === undefined ? undefined : this._byId.get(key);
    }

    at(index) {
      return this._models[index];
    }

    getModelsArray() {
      return [...this._models];
    }

    toArray() {
      return [...this._models];
    }

    forEach(fn) {
      this._models.forEach(fn);
    }

    map(fn) {
      return this._models.map(fn);
    }

    filter(fn) {
      return this._models.filter(fn);
    }

    serialize() {
      return this._models.map((m) => m.serialize());
    }
  }

  ns.Emitter = Emitter;
  ns.Model = Model;
  ns.Collection = Collection;
})();
